# Exchange Interop Portal — the two commands README promises: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

# Embedded default: keys generated once under var/ and read through the *_FILE variables.
RUN_ENV := SECRET_KEY_FILE=var/secret_key FIELD_ENCRYPTION_KEYS_FILE=var/field_keys \
	AUDIT_KEY_FILE=var/audit_key \
	SECURE_HTTPS=$${SECURE_HTTPS:-false}
# Tests: fixed throwaway keys; nothing here is a production secret.
TEST_ENV := DEBUG=false SECURE_HTTPS=false VAR_DIR=$(CURDIR)/var/test \
	SECRET_KEY=test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF \
	FIELD_ENCRYPTION_KEYS=dGVzdC1rZXktbmV3LTAxMjM0NTY3ODlhYmNkZWYwMTI=,dGVzdC1rZXktb2xkLTAxMjM0NTY3ODlhYmNkZWYwMTI= \
	AUDIT_KEY=test-audit-key-0123456789-abcdefghijklmnopqrstuvwxyz \
	DJANGO_ALLOW_ASYNC_UNSAFE=true

.PHONY: run test venv dev-venv keys lint format lock node-deps system-deps clean

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $$(scripts/find-python) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed
dev-venv: $(VENV)/.dev-installed

var/secret_key var/field_keys var/audit_key:
	@mkdir -p var && chmod 700 var
	@test -s var/secret_key || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key
	@test -s var/field_keys || $(PY) -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" > var/field_keys
	@test -s var/audit_key || $(PY) -c "import secrets; print(secrets.token_urlsafe(32))" > var/audit_key
	@chmod 600 var/secret_key var/field_keys var/audit_key

keys: venv var/secret_key var/field_keys var/audit_key

run: venv keys
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(RUN_ENV) scripts/run

system-deps:
	scripts/system-deps

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-deps: node_modules/.package-lock.json

# pytest exits 5 when it collected no test: that is a broken setup, never a pass.
test: dev-venv system-deps node-deps
	@mkdir -p var/test
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the test setup is broken" >&2; exit 1; fi; \
	exit $$rc

lint: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: dev-venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock: dev-venv
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) node_modules var/static
