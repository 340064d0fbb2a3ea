# SPDX-License-Identifier: MIT
# modeld build. `make` builds build/modeld; `make test` installs missing Debian
# packages, builds and runs the Check suites plain, under ASan+UBSan and under TSan.
# Objects live out of tree in build/<variant>/ with -MMD -MP dependencies.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
DATA    ?= ../shared/data

DEB_PKGS := build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev \
            uuid-dev check libsubunit-dev libutf8proc-dev libstemmer-dev liblinear-dev \
            libsodium-dev libcurl4-openssl-dev libyaml-dev openssl curl mandoc
# libpq for the PostgreSQL backend; the server for the tests' throwaway clusters
DEB_PKGS += libpq-dev postgresql
BENCH_PKGS := fasttext wrk curl sqlite3

WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wwrite-strings -Wvla -fno-common
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L
CPPFLAGS_ALL := -Iinclude -I$(BUILD)/gen
CFLAGS_ALL   := $(CSTD) $(WARN) -g -pthread
OPT     := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
LIBS    := -lmicrohttpd -ljansson -lsqlite3 -luuid -lsodium -lyaml -lutf8proc -lstemmer -llinear \
           -lm -pthread -lpq
TEST_LIBS := $(LIBS) -lcheck -lsubunit -lrt -lcurl

# Server modules (main.c stays out of the test runner).
SRV_MODS := err log util domain db view problem validate auth router stats idem http ingest openapi handler_models \
            handler_model_ops handler_annotations handler_meta pool pcache artifacts server cli cli_admin \
            cli_import cli_serve
# The SQLite backend of the storage interface (src/sqlite/): the only code that
# includes sqlite3.h; its headers are private (only its own files get
# -Isrc/sqlite, and the white-box tests).
DB_MODS  := $(addprefix sqlite/,conn admin members documents idem models jobs migrate backup)
DB_MODS  += sqlite/sessions
# The PostgreSQL backend (src/pg/): the only code (with tests/check_pg*.c)
# that includes libpq-fe.h; only its objects and the tests get its -I.
PG_MODS  := $(addprefix pg/,conn migrate admin members sessions idem listen)
PG_MODS  += pg/documents pg/models pg/jobs
DB_MODS  += $(PG_MODS)
PG_CPPFLAGS := -I/usr/include/postgresql
# the model-change hub behind the event streams, and the event-stream handlers
SRV_MODS += notify handler_events
# browser sign-in (POST/DELETE /session)
SRV_MODS += handler_session
# The ML side (src/ml/): the server sees only include/trainer.h and
# include/predictor.h; its other headers are private to src/ml/ (and the
# white-box tests, benchmarks and fuzzers), which the compiler enforces.
ML_MODS  ?= $(addprefix ml/,text feat learn metrics split artifact heads transfer explain trainer \
                            predictor)
EXTRA_OBJS ?=
# Shared helpers both sides use (kept apart from the lists above to merge easily).
SRV_MODS += strbuf authcache handler_members
MODS     := $(SRV_MODS) $(DB_MODS) $(ML_MODS)
TEST_MODS := $(patsubst tests/%.c,%,$(wildcard tests/check_*.c)) testutil falloc
# The runner's allocation fault injector (tests/falloc.h) replaces these in our
# own object files (the shared libraries keep theirs); router_match and
# auth_caller_release mark the window of an HTTP request it counts, and
# pthread_create carries a counting scope into the threads started in it;
# jansson's parser (json_loadb, json_loads) is left out of the count.
# trainer_run: tests/check_pool.c counts the pool's trainings and can hold one.
# db_write: a write a request hands to the storage writer counts as the request's.
TEST_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup \
             -Wl,--wrap=router_match,--wrap=auth_caller_release,--wrap=pthread_create \
             -Wl,--wrap=json_loadb,--wrap=json_loads,--wrap=trainer_run,--wrap=db_write

SAN_asan := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_tsan := -fsanitize=thread
SAN_rel  :=
OPT_asan := -O1
OPT_tsan := -O1
OPT_rel  := $(OPT)

.PHONY: all deps deps-bench test test-rel test-asan test-tsan test-contract test-install lint-openapi stress \
        test-browser \
        asan tsan run bench bench-train bench-http bench-check fuzz install clean format

all: deps $(BUILD)/modeld

# ---- dependencies -------------------------------------------------------
deps: $(BUILD)/.deps
$(BUILD)/.deps: Makefile
	@mkdir -p $(BUILD)
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@touch $@

deps-bench:
	@missing=""; for p in $(BENCH_PKGS); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi

# ---- generated sources --------------------------------------------------
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
GEN := $(BUILD)/gen/migrations_data.h $(BUILD)/gen/openapi_data.h $(BUILD)/gen/suites_gen.h
PG_MIGRATIONS := $(sort $(wildcard migrations/pg/*.sql))
GEN += $(BUILD)/gen/pg_migrations_data.h
# The runner's suite list: every `Suite *X_suite(void)` defined in tests/check_*.c.
$(BUILD)/gen/suites_gen.h: $(wildcard tests/check_*.c)
	@mkdir -p $(BUILD)/gen
	{ sed -n 's/^Suite \*\([a-z0-9_]*_suite\)(void)$$/Suite *\1(void);/p' $^ | sort -u; \
	  printf '#define SUITES(X)'; \
	  sed -n 's/^Suite \*\([a-z0-9_]*_suite\)(void)$$/ X(\1)/p' $^ | sort -u | tr -d '\n'; \
	  echo; } > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/migrations_data.h: $(MIGRATIONS) tools/embed_migrations.sh
	@mkdir -p $(BUILD)/gen
	sh tools/embed_migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/pg_migrations_data.h: $(PG_MIGRATIONS) tools/embed_migrations.sh
	@mkdir -p $(BUILD)/gen
	sh tools/embed_migrations.sh $(PG_MIGRATIONS) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/openapi_data.h: openapi/openapi.yaml tools/embed_text.sh
	@mkdir -p $(BUILD)/gen
	sh tools/embed_text.sh openapi_yaml_text openapi/openapi.yaml > $@.tmp && mv $@.tmp $@

# ---- objects per variant ------------------------------------------------
define variant
$(BUILD)/$(1)/%.o: src/%.c $(GEN) | $(BUILD)/.deps
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS_ALL) $$(CFLAGS_ALL) $$(OPT_$(1)) $$(SAN_$(1)) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/ml/%.o: src/ml/%.c $(GEN) | $(BUILD)/.deps
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS_ALL) -Isrc/ml $$(CFLAGS_ALL) $$(OPT_$(1)) $$(SAN_$(1)) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/sqlite/%.o: src/sqlite/%.c $(GEN) | $(BUILD)/.deps
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS_ALL) -Isrc/sqlite $$(CFLAGS_ALL) $$(OPT_$(1)) $$(SAN_$(1)) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/pg/%.o: src/pg/%.c $(GEN) | $(BUILD)/.deps
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS_ALL) $$(PG_CPPFLAGS) $$(CFLAGS_ALL) $$(OPT_$(1)) $$(SAN_$(1)) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/t_%.o: tests/%.c $(GEN) | $(BUILD)/.deps
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS_ALL) -Itests -Isrc/ml -Isrc/sqlite -Isrc $$(PG_CPPFLAGS) $$(CFLAGS_ALL) $$(OPT_$(1)) $$(SAN_$(1)) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/modeld: $(patsubst %,$(BUILD)/$(1)/%.o,$(MODS) main)
	$$(CC) $$(CFLAGS_ALL) $$(SAN_$(1)) -o $$@ $$^ $$(EXTRA_OBJS) $$(LIBS)
$(BUILD)/$(1)/check_all: $(patsubst %,$(BUILD)/$(1)/%.o,$(MODS)) $(patsubst %,$(BUILD)/$(1)/t_%.o,$(TEST_MODS))
	$$(CC) $$(CFLAGS_ALL) $$(SAN_$(1)) $$(TEST_WRAP) -o $$@ $$^ $$(EXTRA_OBJS) $$(TEST_LIBS)
endef
$(eval $(call variant,rel))
$(eval $(call variant,asan))
$(eval $(call variant,tsan))

$(BUILD)/modeld: $(BUILD)/rel/modeld
	cp $< $@

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/ml/*.d $(BUILD)/*/sqlite/*.d $(BUILD)/*/pg/*.d)

# ---- tests --------------------------------------------------------------
# Each variant runs the same suites against the binary of that variant
# (HTTP tests start the daemon in-process; CLI tests exec MODELD_BIN).
test: deps test-rel test-asan test-tsan test-contract test-install test-browser

# promtool (to check /metrics in a test) taken out of Debian's prometheus package
# without installing it (no service, no user): apt-get download + dpkg-deb -x.
PROMTOOL := $(BUILD)/tools/usr/bin/promtool
$(PROMTOOL):
	@mkdir -p $(BUILD)/tools
	cd $(BUILD)/tools && rm -f prometheus_*.deb && \
	  { apt-get download prometheus >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get download prometheus >/dev/null; }; } && \
	  dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb
	@test -x $@
TEST_ENV = MODELD_DATA=$(DATA) MODELD_PROMTOOL=$(PROMTOOL)
# The tests' PostgreSQL mode (tests/testutil.c: MODELD_TEST_PG) talks libpq;
# the server package gives tools/pgtest.sh its throwaway cluster.
DEB_PKGS += libpq-dev postgresql
TEST_LIBS += -lpq
$(BUILD)/%/t_testutil.o: CPPFLAGS_ALL += -I/usr/include/postgresql

test-rel: $(BUILD)/rel/check_all $(BUILD)/rel/modeld $(PROMTOOL) bench-check
	MODELD_BIN=$(BUILD)/rel/modeld $(TEST_ENV) $(BUILD)/rel/check_all
test-asan: $(BUILD)/asan/check_all $(BUILD)/asan/modeld $(PROMTOOL)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	MODELD_BIN=$(BUILD)/asan/modeld $(TEST_ENV) CK_DEFAULT_TIMEOUT=120 $(BUILD)/asan/check_all
test-tsan: $(BUILD)/tsan/check_all $(BUILD)/tsan/modeld $(PROMTOOL)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	MODELD_BIN=$(BUILD)/tsan/modeld $(TEST_ENV) CK_DEFAULT_TIMEOUT=240 $(BUILD)/tsan/check_all
# The HTTP and CLI suites again on PostgreSQL, plain and under ASan+UBSan (TSan
# stays on SQLite): tools/pgtest.sh run starts a throwaway cluster in a temp dir
# (as an unprivileged user when root), runs the suites with MODELD_TEST_PG set
# (every test server gets a fresh database on it) and stops the cluster even
# when they fail. check_cluster (several daemons on one database) runs only here.
PG_SUITES := api_annotations api_auth api_cors api_durability api_events api_explain api_framing \
             api_idem api_labelsets api_members api_models api_ops api_paths api_session \
             api_smoke api_tls api_training cli cli_ops faults handlers cluster
# the PostgreSQL backend's own white-box suite (skipped without MODELD_TEST_PG)
PG_SUITES += pg_data pg
PG_ASAN_SUITES ?= $(PG_SUITES)
test: test-pg-rel test-pg-asan
.PHONY: test-pg test-pg-rel test-pg-asan run-pg bench-cluster
test-pg: test-pg-rel test-pg-asan
test-pg-rel: $(BUILD)/rel/check_all $(BUILD)/rel/modeld $(PROMTOOL)
	MODELD_SUITES="$(PG_SUITES)" MODELD_BIN=$(BUILD)/rel/modeld $(TEST_ENV) \
	  sh tools/pgtest.sh run $(BUILD)/rel/check_all
test-pg-asan: $(BUILD)/asan/check_all $(BUILD)/asan/modeld $(PROMTOOL)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	MODELD_SUITES="$(PG_ASAN_SUITES)" MODELD_BIN=$(BUILD)/asan/modeld $(TEST_ENV) \
	  CK_DEFAULT_TIMEOUT=120 sh tools/pgtest.sh run $(BUILD)/asan/check_all
# The contract: openapi/openapi.yaml passes Redocly's recommended-strict lint, and the
# README walk-through and every error case, replayed through Stoplight Prism's validating
# proxy in front of a daemon with the demo data, break no rule of it (tests/contract/run.sh,
# under a minute). The tools are npm packages pinned in
# tests/contract/package-lock.json and installed into $(BUILD)/contract (nothing global);
# node and npm come from Debian when missing. Redocly sends no telemetry (REDOCLY_TELEMETRY=off).
CONTRACT := $(BUILD)/contract
$(CONTRACT)/.installed: tests/contract/package.json tests/contract/package-lock.json
	@command -v npm >/dev/null || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm; }
	@mkdir -p $(CONTRACT)
	cp tests/contract/package.json tests/contract/package-lock.json $(CONTRACT)/
	cd $(CONTRACT) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
lint-openapi: $(CONTRACT)/.installed
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true \
	  $(CONTRACT)/node_modules/.bin/redocly lint --extends recommended-strict openapi/openapi.yaml
test-contract: lint-openapi $(BUILD)/rel/modeld
	sh tests/contract/run.sh $(BUILD)/rel/modeld $(CONTRACT)/node_modules/.bin
# The browser test: Debian's headless Chromium (the chromium package, installed when
# /usr/bin/chromium is missing) driven by playwright-core (pinned in
# tests/browser/package-lock.json, installed into $(BROWSER_DIR); no browser is downloaded)
# against the real daemon: sign-in, a cookie-authenticated EventSource, CSRF, and CORS
# from an allowed and a refused origin (tests/browser/signin.test.js, a few seconds).
BROWSER_DIR := $(BUILD)/browser
$(BROWSER_DIR)/.installed: tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm; }
	@mkdir -p $(BROWSER_DIR)
	cp tests/browser/package.json tests/browser/package-lock.json $(BROWSER_DIR)/
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
test-browser: $(BROWSER_DIR)/.installed $(BUILD)/rel/modeld
	@test -x /usr/bin/chromium || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }
	NODE_PATH=$(BROWSER_DIR)/node_modules node tests/browser/signin.test.js $(BUILD)/rel/modeld
# Bounded load checks (time and memory under load; not in `make test`, the machine is shared),
# then the full allocation fault walk (every point, under ASan: a leak fails it).
stress: deps $(BUILD)/rel/check_all $(BUILD)/rel/modeld $(BUILD)/asan/check_all $(BUILD)/asan/modeld
	MODELD_STRESS=1 CK_RUN_SUITE=stress MODELD_BIN=$(BUILD)/rel/modeld $(TEST_ENV) \
	  $(BUILD)/rel/check_all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	MODELD_STRESS=1 CK_RUN_SUITE=allocfaults MODELD_BIN=$(BUILD)/asan/modeld $(TEST_ENV) \
	  CK_DEFAULT_TIMEOUT=3600 $(BUILD)/asan/check_all
asan: $(BUILD)/asan/modeld
tsan: $(BUILD)/tsan/modeld

# ---- run the demo -------------------------------------------------------
run: all
	sh tools/demo.sh $(BUILD)/modeld
# The demo on a throwaway PostgreSQL cluster in ./var/pg with two daemons (8080, 8081).
run-pg: all
	sh tools/run-pg.sh $(BUILD)/modeld

# ---- benchmarks ---------------------------------------------------------
# bench_train.c + synth.c (synthetic sets) linked with the rel objects of src/.
$(BUILD)/rel/bench_train: bench/bench_train.c bench/synth.c bench/synth.h \
                          $(patsubst %,$(BUILD)/rel/%.o,$(MODS))
	$(CC) $(CPPFLAGS_ALL) -Ibench -Isrc/ml $(CFLAGS_ALL) $(OPT) -o $@ $(filter-out %.h,$^) $(LIBS)
bench-train: deps deps-bench $(BUILD)/rel/bench_train
	$(BUILD)/rel/bench_train $(DATA)
# The HTTP benchmark's helpers: the static ceiling (libmicrohttpd with modeld's
# thread model) and the idle event-stream clients; -O2 like the daemon.
BENCH_HTTP_BINS := $(BUILD)/rel/ceiling $(BUILD)/rel/sse_clients
$(BUILD)/rel/ceiling: bench/ceiling.c | $(BUILD)/.deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(OPT) -o $@ $< -lmicrohttpd -pthread
$(BUILD)/rel/sse_clients: bench/sse_clients.c | $(BUILD)/.deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(OPT) -o $@ $<
bench-http: deps deps-bench $(BUILD)/rel/modeld $(BENCH_HTTP_BINS)
	sh bench/http_bench.sh $(BUILD)/rel/modeld $(BUILD)/rel
# Part of `make test` (cheap): the HTTP benchmark's helpers build, its script parses.
bench-check: $(BENCH_HTTP_BINS)
	sh -n bench/http_bench.sh
	sh -n bench/cluster_bench.sh && sh -n tools/run-pg.sh && sh -n tools/pgtest.sh
# Jobs per minute with 1, 2 and 3 daemons on one PostgreSQL database.
bench-cluster: all
	sh bench/cluster_bench.sh $(BUILD)/modeld
bench: bench-train bench-http

# ---- install / housekeeping ---------------------------------------------
# The binary, the man page, the systemd unit (with this installation's
# paths), its sysusers.d user, the example configuration under the doc
# directory, and that example as SYSCONFDIR/modeld/modeld.conf unless one is
# there already (an operator's configuration is never overwritten).
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/modeld
SYSCONFDIR  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
install: $(BUILD)/modeld
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/modeld
	install -m 0755 $(BUILD)/modeld $(DESTDIR)$(BINDIR)/modeld
	install -m 0644 docs/modeld.8 $(DESTDIR)$(MANDIR)/man8/modeld.8
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' dist/modeld.service.in \
	  > $(DESTDIR)$(UNITDIR)/modeld.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/modeld.service.tmp
	mv $(DESTDIR)$(UNITDIR)/modeld.service.tmp $(DESTDIR)$(UNITDIR)/modeld.service
	install -m 0644 dist/modeld.sysusers $(DESTDIR)$(SYSUSERSDIR)/modeld.conf
	install -m 0644 dist/modeld.conf.example $(DESTDIR)$(DOCDIR)/modeld.conf.example
	install -m 0644 docs/OPERATIONS.md $(DESTDIR)$(DOCDIR)/OPERATIONS.md
	test -e $(DESTDIR)$(SYSCONFDIR)/modeld/modeld.conf || \
	  install -m 0644 dist/modeld.conf.example $(DESTDIR)$(SYSCONFDIR)/modeld/modeld.conf

# `make install DESTDIR=<temp>` checked: the tree, the man page (mandoc lint,
# groff warnings, every command/option/variable of the binary named in it),
# the unit (systemd-analyze verify; Debian's systemd is installed for it when
# systemd-analyze is missing, nothing needs to run), the sysusers entry and
# the example configuration (serve starts with it).
test-install: deps $(BUILD)/modeld
	@command -v systemd-analyze >/dev/null || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd; }
	sh tools/test_install.sh $(BUILD)/modeld

format:
	clang-format -i src/*.c src/*.h src/ml/*.c src/ml/*.h src/sqlite/*.c src/sqlite/*.h src/pg/*.c src/pg/*.h include/*.h tests/*.c

clean:
	rm -rf $(BUILD)

# ---- fuzzing (libFuzzer, clang) -------------------------------------------
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_FLAGS   := $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/ml -I$(BUILD)/gen $(PG_CPPFLAGS)
FUZZ_TARGETS := ingest artifact text
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(patsubst %,src/%.c,$(MODS)) $(GEN)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(patsubst %,src/%.c,$(MODS)) $(LIBS)
fuzz: deps $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    $(BUILD)/fuzz/corpus-$$t fuzz/corpus/$$t || exit 1; \
	done
