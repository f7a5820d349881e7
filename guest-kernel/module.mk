# module.mk - make targets of the guest kernel module (included by the top Makefile).
#   make module      build build/guest-kernel/xlcp_guest.ko against the pinned Debian headers
#                    (linux-headers-$(KERNEL_ABI)-amd64, KERNEL_ABI from
#                    tools/nested/versions.env; override with XLCP_KDIR=...), warnings = errors
#   make deb-guest   build/xl-checkpoint-guest-dkms_<v>_all.deb: the module's source for DKMS
#                    (/usr/src/xlcp_guest-<v>/), a modules-load.d entry, dkms add/install in
#                    postinst; make deb-guest-check also builds the module from the packaged
#                    source alone, the way dkms.conf tells DKMS to (needs the kernel headers)
#   make xs-regen    regenerate the committed copies made from xenstore-schema/protocol.xml
#                    (guest-kernel/xlcp_xs_proto.h, xenstore-schema/PROTOCOL.md)
# When the headers are installed, `make` builds the module and `make install` (hence
# `make stage`, hence `make check`) installs it as $(LIBDIR)/xl-checkpoint/xlcp_guest.ko.
# The module is built from a copy in build/guest-kernel/ (Kbuild of 6.1 writes its
# objects next to the sources) with the header generated from protocol.xml.

XLCP_KABI := $(shell sed -n 's/^KERNEL_ABI=//p' tools/nested/versions.env 2>/dev/null)
XLCP_KDIR ?= /usr/src/linux-headers-$(XLCP_KABI)-amd64
XLCP_MOD_DIR := $(B)/guest-kernel
XLCP_MOD_KO := $(XLCP_MOD_DIR)/xlcp_guest.ko
XLCP_HAVE_KHDRS := $(wildcard $(XLCP_KDIR)/Makefile)

.PHONY: module module-clean xs-regen install-module deb-guest deb-guest-check

module:
ifeq ($(XLCP_HAVE_KHDRS),)
	@echo "module: no kernel headers in $(XLCP_KDIR) (make deps installs them)" >&2
	@false
else
module: $(XLCP_MOD_KO)
endif

XLCP_MOD_SRCS := $(wildcard guest-kernel/xlcp_*.c) guest-kernel/xlcp.h

$(XLCP_MOD_KO): $(XLCP_MOD_SRCS) guest-kernel/Kbuild $(B)/gen/xlcp_xs_proto.h
	rm -rf $(XLCP_MOD_DIR)
	mkdir -p $(XLCP_MOD_DIR)
	cp guest-kernel/Kbuild $(XLCP_MOD_SRCS) $(B)/gen/xlcp_xs_proto.h $(XLCP_MOD_DIR)/
	$(MAKE) -C $(XLCP_KDIR) M=$(CURDIR)/$(XLCP_MOD_DIR) W=1 KCFLAGS=-Werror modules \
		> $(XLCP_MOD_DIR)/build.log 2>&1 || { cat $(XLCP_MOD_DIR)/build.log; false; }
	@if grep -n 'warning:' $(XLCP_MOD_DIR)/build.log; then \
		echo "module: warnings (see above)"; rm -f $@; false; fi
	@echo "module: $@ built against $(XLCP_KDIR)"

ifneq ($(XLCP_HAVE_KHDRS),)
all: $(XLCP_MOD_KO)
install: install-module
endif

install-module: $(XLCP_MOD_KO)
	install -d $(DESTDIR)$(LIBDIR)/xl-checkpoint
	install -m 0644 $(XLCP_MOD_KO) $(DESTDIR)$(LIBDIR)/xl-checkpoint/xlcp_guest.ko

module-clean:
	rm -rf $(XLCP_MOD_DIR)

xs-regen:
	xsltproc xenstore-schema/gen-header.xsl xenstore-schema/protocol.xml \
		> guest-kernel/xlcp_xs_proto.h
	xsltproc xenstore-schema/gen-doc.xsl xenstore-schema/protocol.xml \
		> xenstore-schema/PROTOCOL.md

# ---- the DKMS Debian package ----------------------------------------------------------
XLCP_DKMS_VER := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' guest-kernel/dkms.conf)
XLCP_DEB := $(B)/xl-checkpoint-guest-dkms_$(XLCP_DKMS_VER)_all.deb
XLCP_DEB_ROOT := $(B)/deb-guest

deb-guest: $(XLCP_DEB)

$(XLCP_DEB): $(XLCP_MOD_SRCS) guest-kernel/Kbuild guest-kernel/Makefile guest-kernel/dkms.conf \
		guest-kernel/xlcp_xs_proto.h $(wildcard guest-kernel/debian/*)
	rm -rf $(XLCP_DEB_ROOT)
	install -d $(XLCP_DEB_ROOT)/DEBIAN $(XLCP_DEB_ROOT)/usr/src/xlcp_guest-$(XLCP_DKMS_VER) \
		$(XLCP_DEB_ROOT)/usr/lib/modules-load.d
	install -m 0644 $(XLCP_MOD_SRCS) guest-kernel/Kbuild guest-kernel/Makefile \
		guest-kernel/dkms.conf guest-kernel/xlcp_xs_proto.h \
		$(XLCP_DEB_ROOT)/usr/src/xlcp_guest-$(XLCP_DKMS_VER)/
	install -m 0644 guest-kernel/debian/modules-load.conf \
		$(XLCP_DEB_ROOT)/usr/lib/modules-load.d/xlcp_guest.conf
	for f in control postinst prerm; do \
		sed 's/@VERSION@/$(XLCP_DKMS_VER)/g' guest-kernel/debian/$$f > $(XLCP_DEB_ROOT)/DEBIAN/$$f; done
	chmod 0755 $(XLCP_DEB_ROOT)/DEBIAN/postinst $(XLCP_DEB_ROOT)/DEBIAN/prerm
	fakeroot dpkg-deb --build -Zxz $(XLCP_DEB_ROOT) $@ >/dev/null
	@echo "deb-guest: $@"

# The package's content, and the module built from the packaged source alone as DKMS would
# (guest-kernel/debian/check-deb.sh), against the pinned headers.
deb-guest-check: $(XLCP_DEB)
	bash guest-kernel/debian/check-deb.sh $(XLCP_DEB) $(XLCP_KDIR) $(B)/deb-guest-check
