# evkit - Unix filters for event-driven systems.  One non-recursive Makefile.
#
#   make            build every tool into $(BUILD)/bin (first checking, with
#                   the compiler, that the packages' headers and libraries
#                   are there: 'make deps' installs what is missing)
#   make demo       install missing packages, build, run examples/demo.sh
#   make test       install missing packages, build, run every test
#                   (again under ASan+UBSan)
#   make bench      measure against jq, awk, cat and wc in the same run
#   make lint       check the man pages
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=
# Debian's libjq-dev (jq 1.6) ships no pkg-config file.
JQ_CFLAGS ?=
JQ_LIBS ?= -ljq
SQLITE_CFLAGS ?=
SQLITE_LIBS ?= -lsqlite3
YAML_CFLAGS ?=
YAML_LIBS ?= -lyaml
XXHASH_CFLAGS ?=
XXHASH_LIBS ?= -lxxhash
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
PQ_CFLAGS ?= -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
PQ_LIBS ?= -lpq  # for have-deps only: libpq is loaded when used (lib/store/pg.c)

BUILD ?= build
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(WARN) -Ilib $(JQ_CFLAGS) \
	$(SQLITE_CFLAGS) $(YAML_CFLAGS) $(XXHASH_CFLAGS) $(CURL_CFLAGS) \
	$(PQ_CFLAGS) $(CFLAGS) -MMD -MP
LIBS = $(SQLITE_LIBS) $(YAML_LIBS) $(XXHASH_LIBS) -lm -pthread

TOOLS = evdedupe evmatch evretry evroute evstore
MAN1 = $(TOOLS:%=man/%.1)
MAN7 = man/evkit.7

# libevkit.a: the layers every tool links, lowest first (see lib/evkit.h).
LIB_MODULES = base input json rules store proc route
LIB_SRC = $(sort $(foreach m,$(LIB_MODULES),$(wildcard lib/$(m)/*.c)))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A = $(BUILD)/libevkit.a
# libevkit-ref.a: the reference matcher over libjq values, for --explain
# and the tests; only what needs it links it (and libjq).
REF_SRC = $(sort $(wildcard lib/ref/*.c))
REF_OBJ = $(REF_SRC:%.c=$(BUILD)/%.o)
REF_A = $(BUILD)/libevkit-ref.a
# libevkit-jq.a: jq programs over events (evdedupe -e); with libjq.
JQ_SRC = $(sort $(wildcard lib/jq/*.c))
JQ_OBJ = $(JQ_SRC:%.c=$(BUILD)/%.o)
JQ_A = $(BUILD)/libevkit-jq.a
UNIT_SRC = $(sort $(wildcard test/unit/*.c))
UNIT_BIN = $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
BINS = $(TOOLS:%=$(BUILD)/bin/%)
# What each tool links beyond libevkit.a.
evmatch_LIBS = $(REF_A)
evdedupe_LIBS = $(JQ_A)
# Libraries linked after libevkit.a (evroute's http targets: libcurl).
evroute_SYSLIBS =	# libcurl is loaded when used (lib/route/http.c)
# Programs the tests use (not tests themselves): the HTTP test server.
TESTBIN = $(BUILD)/testbin/httpd

ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined

.PHONY: all deps demo test check unit bats asan bench lint install \
	uninstall clean have-deps

all: $(BINS)

# Before anything compiles: are the headers and libraries of the Debian
# packages there?  Asked of the compiler with the user's flags (not by
# looking for files), so JQ_CFLAGS and friends pointing elsewhere count.
# have PACKAGE, WHAT, COMMAND: say which package is missing and stop.
have = $(3) >/dev/null 2>&1 || { echo "make: $(1) is missing ($(2) not \
	found): run 'make deps' to install it" >&2; exit 1; }
HASH := \#
have_hdr = $(call have,$(1),$(2),echo '$(HASH)include <$(2)>' | \
	$(CC) $(3) $(CFLAGS) -x c -E -)
have_lib = $(call have,$(1),$(2),echo 'int main(void) { return 0; }' | \
	$(CC) $(CFLAGS) $(LDFLAGS) -x c -o /dev/null - $(2))
have-deps:
	@$(call have_hdr,libjq-dev,jv.h,$(JQ_CFLAGS))
	@$(call have_hdr,libyaml-dev,yaml.h,$(YAML_CFLAGS))
	@$(call have_hdr,libxxhash-dev,xxhash.h,$(XXHASH_CFLAGS))
	@$(call have_lib,libjq-dev,$(JQ_LIBS))
	@$(call have_lib,libyaml-dev,$(YAML_LIBS))
	@$(call have_lib,libsqlite3-dev,$(SQLITE_LIBS))
	@$(call have_lib,libxxhash-dev,$(XXHASH_LIBS))
	@$(call have_hdr,libcurl4-openssl-dev,curl/curl.h,$(CURL_CFLAGS))
	@$(call have_lib,libcurl4-openssl-dev,$(CURL_LIBS))
	@$(call have_hdr,libpq-dev,libpq-fe.h,$(PQ_CFLAGS))
	@$(call have_lib,libpq-dev,$(PQ_LIBS))

$(BUILD)/%.o: %.c | have-deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(REF_A): $(REF_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(REF_OBJ)

$(JQ_A): $(JQ_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(JQ_OBJ)

.SECONDEXPANSION:
$(BUILD)/bin/%: $(BUILD)/cmd/%.o $$($$*_LIBS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $($*_LIBS) $(LIB_A) \
	    $(if $(filter $(REF_A) $(JQ_A),$($*_LIBS)),$(JQ_LIBS)) \
	    $($*_SYSLIBS) $(LIBS)

$(BUILD)/test/%: $(BUILD)/test/unit/%.o $(REF_A) $(JQ_A) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(REF_A) $(JQ_A) $(LIB_A) \
	    $(JQ_LIBS) $(CURL_LIBS) $(LIBS)

$(BUILD)/testbin/%: $(BUILD)/test/%.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# Install the Debian packages the build, tests and bench need, if missing.
deps:
	@CC="$(CC)" JQ_CFLAGS="$(JQ_CFLAGS)" SQLITE_CFLAGS="$(SQLITE_CFLAGS)" \
	    YAML_CFLAGS="$(YAML_CFLAGS)" \
	    XXHASH_CFLAGS="$(XXHASH_CFLAGS)" CURL_CFLAGS="$(CURL_CFLAGS)" \
	    sh .ci/deps

demo: deps all
	@sh examples/demo.sh

# The full suite: unit and Bats tests on the normal build, then again on
# an ASan+UBSan build.
test: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory check BUILD=build/asan \
	    CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined"

check: $(BINS) $(UNIT_BIN) $(TESTBIN)
	@sh test/run $(BUILD)

unit: $(UNIT_BIN) $(TESTBIN)
	@sh test/run $(BUILD) unit

bats: $(BINS) $(TESTBIN)
	@sh test/run $(BUILD) bats

bench: deps all $(TESTBIN)
	@sh bench/run $(BUILD)

lint:
	@for m in $(MAN1) $(MAN7); do mandoc -Tlint -Wwarning $$m || exit 1; done
	@for m in $(MAN1) $(MAN7); do groff -mdoc -ww -z $$m || exit 1; done
	@echo "lint: man pages clean"

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man7
	for t in $(TOOLS); do \
	    cp $(BUILD)/bin/$$t $(DESTDIR)$(BINDIR)/$$t || exit 1; done
	cp $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	cp $(MAN7) $(DESTDIR)$(MANDIR)/man7/

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	for m in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	rm -f $(DESTDIR)$(MANDIR)/man7/evkit.7

clean:
	rm -rf build

.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
