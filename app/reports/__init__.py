"""Reports for supervisors: the dashboard of due, done and missed rounds, and exports."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from . import dashboard, exports  # noqa: E402,F401  (their routes register on bp)
