"""The data model, one module per area of the domain."""
from .audit import Audit, audit
from .defects import (FINDING, INCIDENT_KINDS, SEVERITIES, Conflict, Defect, Delivery,
                      Finding)
from .people import ROLES, FIELD_ROLES, LoginFailure, Site, User, UserRole
from .records import Photo, PhotoBand, Record, Review, Scan, StepResult
from .schedules import SCHEDULE_KINDS, DayCount, Schedule, Stop
from .spots import KINDS, STEP_KINDS, Sop, SopVersion, Spot, Step

__all__ = [
    "Audit", "audit", "FINDING", "INCIDENT_KINDS", "SEVERITIES", "Conflict", "Defect",
    "Delivery", "Finding", "ROLES", "FIELD_ROLES", "LoginFailure", "Site", "User", "UserRole",
    "Photo", "PhotoBand", "Record", "Review", "Scan", "StepResult", "SCHEDULE_KINDS", "DayCount",
    "Schedule", "Stop",
    "KINDS", "STEP_KINDS", "Sop", "SopVersion", "Spot", "Step",
]
