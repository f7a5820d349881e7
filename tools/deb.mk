# deb.mk - the Debian packages (included by the top Makefile; packaging in debian/).
#   make deb         build/deb/: xl-checkpoint, libxlcheckpoint0, libxlcheckpoint-dev
#                    (dpkg-buildpackage -us -uc -b in a copy of the tree, so that the build
#                    never touches this tree's build/ and its results land in build/deb/;
#                    the *-dbgsym packages beside them hold the debug symbols),
#                    then lintian, which must report no error or warning (overrides, each
#                    with its reason, in debian/*.lintian-overrides)
#   make deb-build   the same without lintian (what the nested t80 test installs)
# The guest module's dkms package is `make deb-guest` (guest-kernel/module.mk).

DEB_OUT := $(B)/deb
DEB_VER = $(shell dpkg-parsechangelog -l debian/changelog -SVersion)

.PHONY: deb deb-build

deb-build:
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_OUT)/src/xl-checkpoint-$(DEB_VER)
	tar -cf - --exclude=./build --exclude=./.git --exclude='*.o' --exclude='*.ko' . | \
		tar -xf - -C $(DEB_OUT)/src/xl-checkpoint-$(DEB_VER)
	cd $(DEB_OUT)/src/xl-checkpoint-$(DEB_VER) && \
		dpkg-buildpackage -us -uc -b > ../../build.log 2>&1 || \
		{ tail -n 40 ../../build.log; echo "deb: failed, see $(DEB_OUT)/build.log"; exit 1; }
	mv $(DEB_OUT)/src/*.deb $(DEB_OUT)/src/*.changes $(DEB_OUT)/src/*.buildinfo $(DEB_OUT)/
	rm -rf $(DEB_OUT)/src
	@ls -l $(DEB_OUT)/*.deb

deb: deb-build
	@rc=0; lintian --fail-on error,warning --display-info $(DEB_OUT)/*.changes \
		> $(DEB_OUT)/lintian.log 2>&1 || rc=$$?; cat $(DEB_OUT)/lintian.log; \
	if [ $$rc -ne 0 ]; then echo "deb: lintian failed (exit $$rc)"; exit 1; fi; \
	echo "deb: lintian: no error or warning ($$(grep -c '^[IPX]:' $(DEB_OUT)/lintian.log)" \
		"info lines, in $(DEB_OUT)/lintian.log)"
