"""One typed settings object, read once from the environment (GEOAPP_*) and passed in."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Where the data lives and how the server runs.

    With ``database_url`` unset geoapp runs its own PostgreSQL + PostGIS cluster under ``home``.
    """

    model_config = SettingsConfigDict(env_prefix="GEOAPP_", env_file=None)

    database_url: str | None = None
    home: Path = Path(".geoapp")
    pg_bindir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    layers_dir: Path = REPO_ROOT / "layers"
    static_dir: Path = REPO_ROOT / "static"
    lang: str = "zh"
    # Whether reading the map and the API needs a login (intranets differ); writing always does.
    read_requires_login: bool = False
    # Lifetime of a login token issued by POST /auth/login (scripts use `geoapp users token`, no expiry).
    login_token_hours: int = 12
    # Online basemaps offered by the web map besides the offline one (ids in layers/basemaps/basemaps.yaml,
    # comma-separated, e.g. "tianditu,osm,amap"); empty = offline only (intranet).
    basemaps: str = ""
    tianditu_key: str | None = None

    # -- limits on what a request may send (uploads, bodies, sheets); each refusal names its setting --
    # Largest upload POST /imports accepts, in MiB (413 before the body is stored; 80 MB files answered 500).
    max_upload_mb: int = 64
    # Largest JSON (or form) body of every other request, in KiB (/routes/plan, /projects, /auth/login …).
    max_json_kb: int = 1024
    # Rows an import reads per sheet/file at most (a 1,000,000-row CSV, the bench's, fits); more is a problem.
    import_max_rows: int = 1_200_000
    # Columns an import reads per row at most (the import knows ~25 fields; 16,384 empty ones are an attack).
    import_max_columns: int = 200
    # Largest total an uploaded zip (xlsx, zipped shapefile) may unpack to, in MiB (zip bombs).
    import_max_unzipped_mb: int = 1024
    # Largest ratio unpacked/packed size of a zip over 10 MiB unpacked (XML sheets pack 10–30×; bombs 1000×+).
    import_max_zip_ratio: int = 200
    # Uploads imported at once, each in a worker process of its own (so readers keep the server's CPU and GIL).
    import_workers: int = 2

    # -- logins (throttling, hash cost) --
    # Failed logins of one account within login_failure_window_seconds after which its next attempts get 429.
    login_max_failures_per_account: int = 10
    # Failed logins from one client address (any account) within the window after which it gets 429.
    login_max_failures_per_address: int = 30
    # The window over which failed logins are counted (and the longest Retry-After), in seconds.
    login_failure_window_seconds: int = 900
    # Password hashes (argon2, 64 MiB each) computed at once; further logins wait for a slot.
    login_hash_concurrency: int = 2
    # How long a login waits for a hash slot before it is answered 503 with Retry-After, in seconds.
    login_hash_wait_seconds: float = 10.0

    # -- the database (role, statement and lock timeouts) --
    # An API request's SQL statement is cancelled after this many ms (answered 503 with Retry-After); 0 = none.
    statement_timeout_ms: int = 30_000
    # The longest an API request waits for a lock another transaction holds, in ms (then 503); 0 = none.
    lock_timeout_ms: int = 5_000
    # The same two for an upload through POST /imports: checking and writing a large file takes minutes.
    import_statement_timeout_ms: int = 900_000
    import_lock_timeout_ms: int = 60_000
    # The same two for the command line (imports, road networks, exports, migrations); 0 = none.
    cli_statement_timeout_ms: int = 0
    cli_lock_timeout_ms: int = 0
    # The system user `geoapp serve` runs the web server as when started as root (created when missing).
    serve_user: str = "geoapp"

    # -- route planning (projects per plan, solver time, worker processes) --
    # The most projects one plan may take (by codes or by filter); more is refused (413) before any work is done.
    plan_max_projects: int = Field(500, ge=1, le=20_000)
    # Plans computed at the same time, each in a worker process of its own (the server keeps answering meanwhile).
    plan_workers: int = Field(2, ge=1, le=32)
    # Plan requests that may wait for a free worker; more at once are refused (429, Retry-After).
    plan_queue: int = Field(8, ge=0, le=1000)
    # The solver's time limit for n projects: base + per_project × n seconds, at most max (reported with each plan;
    # plans of a few hundred projects finish far below it, so their results do not depend on the machine's speed).
    plan_time_base_s: float = Field(20.0, gt=0)
    plan_time_per_project_s: float = Field(0.1, ge=0)
    plan_time_max_s: float = Field(120.0, gt=0)

    # -- the HTTP edge (trusted hosts for links, origins allowed to write with a cookie, security headers) --
    # Origins whose pages may read the API across origins (CORS, geoapp/api/cors.py): "*" = any page, without
    # cookies; a comma-separated list of origins = those, with the login cookie; "" = none.
    cors_origins: str = "*"
    # Host names (comma list) the server answers to; any other Host header gets 400 (forged links, DNS
    # rebinding). Empty: 127.0.0.1, localhost, ::1 and the `host` setting (with 0.0.0.0: also this machine's name).
    trusted_hosts: str = ""
    # Further origins (comma list, scheme://host[:port]) whose pages may write with the login cookie; the
    # server's own origin always may. Bearer-token writes are never checked.
    allowed_origins: str = ""

    # -- printing --
    # 编制单位: who compiles the printed route maps and handbooks (printed beside 内部资料 and the disclaimer);
    # organisation_en is its name on English prints.
    organisation: str = "通辽市发展和改革委员会"
    organisation_en: str = "Tongliao Municipal Development and Reform Commission"


def get_settings() -> Settings:
    return Settings()
