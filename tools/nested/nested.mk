# nested.mk - make targets of the nested Xen harness (included by the top Makefile).
#   make images                  build or find the cached Xen/dom0/guest images
#   make check-nested [T=t10]    run tests/nested on Xen under QEMU (T: only matching tests)
#   make check-nested-full       every test, the x* ones too, at full depth (XLCP_SUITE=full:
#                                t56's 50 saves); make check runs the regression depth
#   make check-nested-deb [T=..] the same against the Debian packages (dpkg -i in dom0)
#   make nested-shell            boot nested dom0 with a root shell on this terminal
# Knobs (environment): XLCP_NESTED_TIMEOUT (whole run, s), XLCP_TEST_TIMEOUT (per test, s),
# XLCP_CACHE (image cache dir). Results: build/nested/results.tap, build/nested/serial.log.

.PHONY: images check-nested check-nested-full nested-shell

images:
	bash tools/nested/images.sh

# t80-deb installs the Debian packages and runs examples/backup: both are built first when
# the run includes it (no T: every test; or T names t80).
XLCP_COMMA := ,
XLCP_WANT_DEB := $(if $(strip $(T)),$(strip $(foreach p,$(subst $(XLCP_COMMA), ,$(T)),$(findstring \
	$(p),t80-deb))),all)
# A failed package build does not stop the other tests: t80 then fails, finding no packages.
check-nested: stage $(if $(XLCP_WANT_DEB),examples)
	$(if $(XLCP_WANT_DEB),@$(MAKE) deb-build || echo "check-nested: make deb-build FAILED" \
		"($(B)/deb/build.log): t80-deb will fail")
	XLCP_NESTED_TESTS="$(T)" bash tools/nested/run.sh

# Outside make check for the suite's time (under an hour on a clean clone): the x* tests
# (groups across hosts, page store, thick-LV facts) and the full depth of the stress tests.
check-nested-full: stage examples
	@$(MAKE) deb-build || echo "check-nested-full: make deb-build FAILED ($(B)/deb/build.log)"
	XLCP_SUITE=full XLCP_NESTED_GLOB='[tdx][0-9]*.sh' XLCP_NESTED_TIMEOUT=$${XLCP_NESTED_TIMEOUT:-9000} \
		XLCP_NESTED_TESTS="$(T)" bash tools/nested/run.sh
# The whole suite against the Debian packages (issue 18): run-tests.sh installs them with
# dpkg -i instead of copying the staged install into / (tests find them through lib.sh's
# XLCP_PREFIX; t01 checks that nothing staged is used; t80 skips its own install/purge).
.PHONY: check-nested-deb
check-nested-deb: stage examples
	@$(MAKE) deb-build
	XLCP_NESTED_INSTALL=deb XLCP_NESTED_TESTS="$(T)" bash tools/nested/run.sh

nested-shell: stage
	bash tools/nested/run.sh --shell

# Benchmarks (tests/nested/b*.sh) on nested Xen: build/bench.json and a printed table.
.PHONY: bench
# What the benchmarks measured is merged even when one of them failed (then make fails).
bench: stage
	@rc=0; XLCP_NESTED_TIMEOUT=$${XLCP_NESTED_TIMEOUT:-9000} XLCP_NESTED_GLOB='b[0-9]*.sh' \
		XLCP_NESTED_TESTS="$(T)" bash tools/nested/run.sh || rc=$$?; \
	echo "---- benchmark (build/bench.json) ----"; \
	sh tools/nested/bench-json.sh build/nested/logs/bench $(B)/bench.json build/nested/results.tap || rc=1; exit $$rc
