"""Helpers shared by test modules (never import helpers from another test module)."""

from tests.helpers.browser import (  # noqa: F401
    CHROMIUM, SHOTS, browser_page, main_area, nav, no_exception, screenshot, settle, shot, toast,
)
from tests.helpers.documents import (  # noqa: F401
    cjk_font_path, epub_bytes, image_bytes, mixed_pdf, pptx_bytes, scanned_pdf, text_image,
)
from tests.helpers.server import (  # noqa: F401
    ROOT, communicate_or_kill, free_port, log_tail, start_server, stop_process, wait_until_healthy,
)
from tests.helpers.site import local_site  # noqa: F401
from tests.helpers.weknora import RFC3339, sse_events, weknora_client_class, weknora_data, weknora_error  # noqa: F401
from tests.helpers.llmops import llmops_data, llmops_dataset, llmops_error, swatch  # noqa: F401
from tests.helpers.agentchat import agentchat_data  # noqa: F401
