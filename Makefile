# Makefile - builds, tests and installs xl-checkpoint.
#
#   make               library, xl-checkpoint, xl dispatcher (build/)
#   make check-unit    cmocka unit tests, also under AddressSanitizer + UBSan
#   make check-nested  integration tests on real Xen booted under QEMU (tools/nested/)
#   make check         both
#   make install       DESTDIR=... PREFIX=/usr/local
#   make bench         benchmarks on nested Xen (build/bench.json)
#   make lint          clang-format check + cppcheck
#   make deb           Debian packages into build/deb/ (tools/deb.mk), lintian-checked
#   make examples      examples/backup.c built through the staged install's pkg-config file
#   make deps          apt-get install everything needed (Debian 12, as root)

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/xl-checkpoint
LIBEXECDIR ?= $(PREFIX)/libexec
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Where `make install` puts the `xl` dispatcher (empty: nowhere). It refuses to overwrite an
# xl that is not our dispatcher (tools/install-xl.sh): with PREFIX=/usr that is Xen's own.
# The dispatcher is always installed as $(LIBEXECDIR)/xl-checkpoint/xl too (opt in: README).
XL_DISPATCHER ?= $(SBINDIR)/xl

CC ?= gcc
B := build
SOVER := 0

PKGS_CORE := libxml-2.0 libcrypto libxxhash libzstd devmapper libsystemd
PKGS_XEN := xenlight xencontrol xenstore xentoollog
CPPFLAGS_ALL := -Ilibxl-plugin/include -Ilibxl-plugin/src -I$(B)/gen -D_GNU_SOURCE -DXLCP_HAVE_SYSTEMD \
	$(shell pkg-config --cflags $(PKGS_CORE) 2>/dev/null) $(CPPFLAGS)
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral \
	-Wno-format-truncation
CFLAGS ?= -O2 -g
CFLAGS_ALL := -std=c11 $(WARN) $(CFLAGS) -fPIC -pthread
LIBS_CORE := $(shell pkg-config --libs $(PKGS_CORE) 2>/dev/null) -pthread
LIBS_XEN := $(shell pkg-config --libs $(PKGS_XEN) 2>/dev/null)
LIBS_CLI := $(shell pkg-config --libs yajl 2>/dev/null || echo -lyajl)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Engine sources: everything in src/ except the adapters that need Xen.
LIB_SRCS := $(sort $(wildcard libxl-plugin/src/*.c))
XEN_SRCS := $(filter libxl-plugin/src/hv_xen%.c,$(LIB_SRCS))
CORE_SRCS := $(filter-out $(XEN_SRCS),$(LIB_SRCS))
CLI_SRCS := $(filter-out libxl-plugin/cli/main.c,$(sort $(wildcard libxl-plugin/cli/*.c)))
GEN_SRCS := $(B)/gen/manifest_rng.c $(B)/gen/group_rng.c
GEN_HDRS := $(if $(wildcard xenstore-schema/protocol.xml),$(B)/gen/xlcp_xs_proto.h)

CORE_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(CORE_SRCS)) $(B)/obj/gen/manifest_rng.o \
	$(B)/obj/gen/group_rng.o \
	$(B)/obj/gen/xs_protocol_xml.o
XEN_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(XEN_SRCS))
CLI_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(CLI_SRCS))

# Unit tests: tests/unit/test_*.c, each linked with the fakes, the core and the CLI code,
# built with sanitizers in a separate tree.
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FAKE_SRCS := $(sort $(wildcard tests/unit/fakes/*.c))
TEST_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(TEST_SRCS))
SAN_OBJS := $(patsubst %.c,$(B)/san/%.o,$(CORE_SRCS) $(CLI_SRCS) $(FAKE_SRCS)) \
	$(B)/san/gen/manifest_rng.o $(B)/san/gen/group_rng.o $(B)/san/gen/xs_protocol_xml.o

# The guardian helper (libxl-plugin/guardian/): the library execs it, from this path.
GUARDIAN := $(B)/xlcp-guardian
GUARDIAN_SRCS := $(sort $(wildcard libxl-plugin/guardian/*.c))
GUARDIAN_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(GUARDIAN_SRCS))
GUARDIAN_PATH := $(LIBEXECDIR)/xl-checkpoint/xlcp-guardian

LIBSO := $(B)/libxlcheckpoint.so.$(SOVER)
LIBA := $(B)/libxlcheckpoint.a

.PHONY: all check check-unit install stage clean lint deps bench demo module
.DELETE_ON_ERROR:

all: $(LIBSO) $(LIBA) $(B)/xl-checkpoint $(B)/xl $(B)/xlcheckpoint.pc

$(B)/gen/manifest_rng.c: libxl-plugin/schema/manifest.rng tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh $< xlcp_manifest_rng > $@

$(B)/gen/group_rng.c: libxl-plugin/schema/group.rng tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh $< xlcp_group_rng > $@

$(B)/gen/xs_protocol_xml.c: xenstore-schema/protocol.xml tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh $< xlcp_xs_protocol_xml > $@

$(B)/gen/xlcp_xs_proto.h: xenstore-schema/protocol.xml xenstore-schema/gen-header.xsl
	@mkdir -p $(@D)
	xsltproc xenstore-schema/gen-header.xsl $< > $@

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<
$(B)/san/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(SAN) -c -o $@ $<

$(B)/obj/%.o: %.c $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(XEN_CFLAGS) -MMD -MP -c -o $@ $<

# Xen's headers (xenctrl.h) need GNU C extensions: the Xen adapter alone is gnu11.
$(XEN_OBJS): XEN_CFLAGS := -std=gnu11 $(shell pkg-config --cflags $(PKGS_XEN) 2>/dev/null)
$(B)/san/%.o: %.c $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(CFLAGS_ALL) $(SAN) -MMD -MP -c -o $@ $<

# Only the functions of the public header are exported (tools/gen-symbols.sh).
LIBMAP := $(B)/gen/libxlcheckpoint.map
$(LIBMAP): libxl-plugin/include/xlcheckpoint.h tools/gen-symbols.sh
	@mkdir -p $(@D)
	sh tools/gen-symbols.sh map $< > $@

$(LIBSO): $(CORE_OBJS) $(XEN_OBJS) $(LIBMAP)
	$(CC) -shared -Wl,-soname,libxlcheckpoint.so.$(SOVER) -Wl,--no-undefined \
		-Wl,--version-script=$(LIBMAP) $(LDFLAGS) -o $@ $(CORE_OBJS) $(XEN_OBJS) \
		$(LIBS_CORE) $(LIBS_XEN)
	ln -sf libxlcheckpoint.so.$(SOVER) $(B)/libxlcheckpoint.so

$(LIBA): $(CORE_OBJS) $(XEN_OBJS)
	rm -f $@
	ar rcs $@ $^

$(B)/xl-checkpoint: $(B)/obj/libxl-plugin/cli/main.o $(CLI_OBJS) $(LIBA)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LIBS_CLI) $(LIBS_CORE) $(LIBS_XEN)

all: $(GUARDIAN)
$(GUARDIAN_OBJS): XEN_CFLAGS := -std=gnu11 $(shell pkg-config --cflags $(PKGS_XEN) 2>/dev/null)
# The install paths the build bakes in (the guardian's path in the library, the .pc file,
# the units), rewritten only when they change: `make install PREFIX=/usr` after `make`
# rebuilds what names them instead of installing /usr/local paths under /usr.
INSTALL_PATHS := $(PREFIX):$(SBINDIR):$(LIBDIR):$(INCLUDEDIR):$(GUARDIAN_PATH)
.PHONY: FORCE
$(B)/gen/install-paths: FORCE
	@mkdir -p $(@D)
	@echo '$(INSTALL_PATHS)' | cmp -s - $@ || echo '$(INSTALL_PATHS)' > $@
$(B)/obj/libxl-plugin/src/guardian.o: $(B)/gen/install-paths
$(B)/obj/libxl-plugin/src/guardian.o $(B)/san/libxl-plugin/src/guardian.o: \
	CPPFLAGS_ALL += -DXLCP_GUARDIAN_PATH='"$(GUARDIAN_PATH)"'
$(GUARDIAN): $(GUARDIAN_OBJS) $(LIBA)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LIBS_CORE) $(LIBS_XEN)

$(B)/xl: tools/xl
	@mkdir -p $(@D)
	install -m 0755 $< $@

# systemd units (libxl-plugin/systemd/): scheduled checkpoints and retention.
UNITS_IN := $(wildcard libxl-plugin/systemd/*.in)
UNITS := $(patsubst libxl-plugin/systemd/%.in,$(B)/systemd/%,$(UNITS_IN)) \
	$(patsubst libxl-plugin/systemd/%,$(B)/systemd/%,$(wildcard libxl-plugin/systemd/*.timer))
all: $(UNITS)
$(B)/systemd/%: libxl-plugin/systemd/%.in Makefile $(B)/gen/install-paths
	@mkdir -p $(@D)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' $< > $@
$(B)/systemd/%.timer: libxl-plugin/systemd/%.timer
	@mkdir -p $(@D)
	cp $< $@

# The .pc file names the libraries a static link needs (Libs.private), not their .pc files:
# `pkg-config --libs xlcheckpoint` then works without their -dev packages installed.
LIBS_PRIVATE = $(strip $(filter-out -pthread,$(LIBS_CORE)) $(LIBS_XEN) -pthread)
$(B)/xlcheckpoint.pc: libxl-plugin/xlcheckpoint.pc.in Makefile $(B)/gen/install-paths
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(shell sed -n \
	    's/^#define XLCP_VERSION_STRING "\(.*\)"/\1/p' libxl-plugin/include/xlcheckpoint.h)|' \
	    $< > $@

# ---- tests -------------------------------------------------------------------------

$(B)/tests/%: tests/unit/%.c $(SAN_OBJS) $(GEN_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(CFLAGS_ALL) $(SAN) -o $@ $< $(SAN_OBJS) \
		$(LIBS_CLI) $(LIBS_CORE) $(shell pkg-config --libs cmocka)

check-unit: $(TEST_BINS) all examples
	@rm -rf $(B)/tests/json-samples && mkdir -p $(B)/tests/json-samples
	@XLCP_JSON_SAMPLES=$(CURDIR)/$(B)/tests/json-samples sh tests/unit/run.sh $(TEST_BINS)
	@sh tests/cli/test_dispatch.sh $(B)
	@/usr/bin/python3 tests/cli/validate_json.py libxl-plugin/man/xl-checkpoint-json.schema.json \
		$(B)/tests/json-samples
	@sh tests/cli/test_bench.sh
	@sh tests/cli/test_install.sh $(B)
	@sh tests/cli/test_library.sh $(B)
	@sh tests/cli/test_stream_tool.sh $(B)
	@$(MAKE) --no-print-directory fuzz-short

check: check-unit check-nested

# The example backup program, built the way its users build it: through the pkg-config file
# of the staged install (PKG_CONFIG_SYSROOT_DIR maps its /usr/local paths into build/stage).
.PHONY: examples
examples: stage
	@mkdir -p $(B)/examples
	flags=$$(PKG_CONFIG_PATH=$(CURDIR)/$(B)/stage$(LIBDIR)/pkgconfig \
		PKG_CONFIG_SYSROOT_DIR=$(CURDIR)/$(B)/stage pkg-config --cflags --libs xlcheckpoint) && \
	$(CC) -std=c11 $(WARN) $(CFLAGS) -o $(B)/examples/backup examples/backup.c $$flags

# ---- install -----------------------------------------------------------------------

install: all
	$(if $(XL_DISPATCHER),sh tools/install-xl.sh check "$(DESTDIR)$(XL_DISPATCHER)")
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(B)/xl-checkpoint $(DESTDIR)$(SBINDIR)/xl-checkpoint
	$(if $(XL_DISPATCHER),install -m 0755 $(B)/xl "$(DESTDIR)$(XL_DISPATCHER)")
	install -m 0644 libxl-plugin/completion/xl-checkpoint $(DESTDIR)$(BASHCOMPDIR)/xl-checkpoint
	install -m 0755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sf libxlcheckpoint.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libxlcheckpoint.so
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	install -m 0644 libxl-plugin/include/xlcheckpoint.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(B)/xlcheckpoint.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 0644 libxl-plugin/man/xl-checkpoint.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 libxl-plugin/schema/manifest.rng libxl-plugin/schema/group.rng \
		$(DESTDIR)$(DATADIR)/
	install -m 0644 xenstore-schema/protocol.xml $(DESTDIR)$(DATADIR)/xenstore-protocol.xml
	install -m 0644 libxl-plugin/man/xl-checkpoint-json.schema.json libxl-plugin/man/group-agent.md \
		$(DESTDIR)$(DATADIR)/
	install -d $(DESTDIR)$(LIBEXECDIR)/xl-checkpoint
	install -m 0755 $(GUARDIAN) $(DESTDIR)$(GUARDIAN_PATH)
	install -m 0755 $(B)/xl $(DESTDIR)$(LIBEXECDIR)/xl-checkpoint/xl
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0644 $(UNITS) $(DESTDIR)$(SYSTEMDUNITDIR)/

# The tree handed to nested dom0.
stage: all
	rm -rf $(B)/stage
	$(MAKE) install DESTDIR=$(CURDIR)/$(B)/stage PREFIX=/usr/local

# ---- housekeeping ------------------------------------------------------------------

deps:
	sh tools/deps.sh

lint:
	clang-format --dry-run --Werror $(LIB_SRCS) $(CLI_SRCS) libxl-plugin/cli/main.c \
		libxl-plugin/src/*.h libxl-plugin/include/*.h tests/unit/*.c tests/unit/fakes/*.[ch] \
		examples/*.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --std=c11 -Ilibxl-plugin/include -Ilibxl-plugin/src \
		-I$(B)/gen --suppress=missingIncludeSystem $(LIB_SRCS) $(CLI_SRCS)

.PHONY: lint-guardian
lint: lint-guardian
lint-guardian:
	clang-format --dry-run --Werror $(GUARDIAN_SRCS)

clean:
	rm -rf $(B)

-include $(wildcard $(B)/obj/**/*.d $(B)/obj/*/*/*.d $(B)/san/*/*/*.d $(B)/san/*/*.d)
-include tools/nested/nested.mk
-include tools/deb.mk
include libxl-plugin/stream-tool/stream.mk
-include guest-kernel/module.mk

# The README's main job: boot nested Xen and show a guest checkpointed and restored there
# (tests/nested/d10-demo.sh); the transcript is in build/nested/logs/d10-demo.log.
demo: all stage
	XLCP_NESTED_GLOB='d[0-9]*.sh' bash tools/nested/run.sh
	@sed -n 's/^# \{0,1\}//p' build/nested/logs/d10-demo.log
