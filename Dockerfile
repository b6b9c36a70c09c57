# HappyMaps: one Streamlit server on the shipped models (the runtime requirements only).
#   docker build -t happymaps . && docker run -p 8501:8501 -v "$PWD/data:/data:ro" happymaps
# Many servers behind a proxy: compose.yaml (README, "Serving many people").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HAPPYMAPS_DATA=/data

RUN useradd --create-home --uid 10001 happymaps
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY .streamlit/ .streamlit/
COPY app.py ui.py ./
COPY pages/ pages/
COPY vislib/ vislib/
COPY models/ models/
COPY sample_images/ sample_images/

USER happymaps
# The data sets (CMU faces, the three amigos): the app's samples; it runs without them.
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", \
     "--server.headless=true", "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"]
