"""The ceiling: a bare Flask app, served by gunicorn with the same settings as Dichtbij.

Every throughput in the benchmark is reported as a ratio to this one, measured in the same run
on the same machine, so the numbers say how much of the framework's and server's budget the
app's own work takes.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
