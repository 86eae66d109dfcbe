"""A bare Starlette hello-world app: the floor bench/throughput.py compares the reference servers to.

    python -m uvicorn --app-dir bench hello_app:app --host 127.0.0.1 --port 8000 --log-level warning --no-access-log --lifespan off
"""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request):  # noqa: ANN001, ANN201 - the smallest possible endpoint
    return JSONResponse({"hello": "world"})


app = Starlette(routes=[Route("/", hello)])
