# Test-time services: headless Chromium with its driver, Redis and PostgreSQL
# on loopback, and Debian's Python clients. Installed from apt when missing,
# started when not answering, the same way the machine starts them.

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    apt_install chromium chromium-driver
  fi
}

ensure_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting redis-server on 127.0.0.1:6379"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  redis-cli -h 127.0.0.1 ping >/dev/null || die "Redis does not answer on 127.0.0.1:6379"
}

# PostgreSQL on 127.0.0.1:5432 with trust auth for local connections, and the
# test database. Tests make databases of their own through the `postgres`
# database (TEST_PG_ADMIN_URL overrides where), so nothing here exports a
# DATABASE_URL that test servers would pick up.
TEST_DATABASE="${TEST_DATABASE:-tickstream_test}"
ensure_postgres() {
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL does not answer on 127.0.0.1:5432"
  if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$TEST_DATABASE'" | grep -q 1; then
    log "creating database $TEST_DATABASE"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $TEST_DATABASE"
  fi
}

# The original design's own clients, which the tests drive, for Debian's
# /usr/bin/python3 (not a python3 of pyenv or a venv on PATH):
# python3-socketio with its WebSocket transport (Socket.IO tests) and
# python3-redis (the README's producer), python3-pandas (the indicators
# oracle). socket.io-client comes from npm.
# To add one, add its Debian package to PYTHON_CLIENT_PACKAGES.
PYTHON_CLIENT_PACKAGES=(python3-socketio python3-websocket python3-requests python3-redis python3-pandas)
ensure_python_clients() {
  local missing=() pkg
  for pkg in "${PYTHON_CLIENT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
}
