# Almanac in one container: the Hugging Face Docker Space (README front matter) or `docker run` anywhere.
#   docker build -t almanac . && docker run -p 7860:7860 almanac      ->  http://localhost:7860/ui/
FROM python:3.11-slim

# espeak-ng: offline text-to-speech. Noto CJK and colour emoji: Chinese text and emoji render.
# libgomp1: OpenMP for the bundled embedding engine and faster-whisper. libgl1, libglib2.0-0: OpenCV (OCR).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng fonts-noto-cjk fonts-noto-color-emoji libgomp1 \
       libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The pinned requirements, in a layer of their own: a code change does not reinstall them.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt

# Spaces run containers as uid 1000. /data is where a Space's persistent storage is mounted (and where
# `docker run -v almanac-data:/data` keeps data); without it, the entry point uses a temporary folder.
RUN useradd --create-home --uid 1000 user \
    && mkdir /data \
    && chown user:user /data
USER 1000:1000
ENV HOME=/home/user \
    ALMANAC_HOST=0.0.0.0 \
    ALMANAC_PORT=7860 \
    ALMANAC_DEMO=true \
    FORWARDED_ALLOW_IPS=* \
    STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION=false \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_DISABLE_TELEMETRY=1 \
    HF_HUB_OFFLINE=1 \
    OMP_WAIT_POLICY=PASSIVE
WORKDIR /home/user/app
COPY --chown=user:user . .

EXPOSE 7860
CMD ["scripts/space-entrypoint.sh"]
