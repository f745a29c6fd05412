from . import service_comm_preview
