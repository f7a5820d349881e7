# stream.mk - the memory-image parser's tool and fuzzer (included by the top Makefile).
#   build/xlcp-stream       summary / check / cut of an image (installed to libexec)
#   make fuzz-short         the libFuzzer target for FUZZ_SECS (60) seconds; check-unit runs it
#   make fuzz               the same for FUZZ_LONG_SECS (1800) seconds
# Seeds: tests/fixtures/stream/ (real images cut small, made by tests/nested/t47-stream.sh)
# and the synthetic images the unit test writes to build/fuzz/seeds/.

STREAM_TOOL := $(B)/xlcp-stream
STREAM_TOOL_PATH := $(LIBEXECDIR)/xl-checkpoint/xlcp-stream
STREAM_SRCS := libxl-plugin/src/stream.c libxl-plugin/src/stream_rec.c libxl-plugin/src/err.c
FUZZ_CC ?= clang-14
FUZZ_SECS ?= 60
FUZZ_LONG_SECS ?= 1800
FUZZ_BIN := $(B)/fuzz/fuzz_stream

all: $(STREAM_TOOL)

$(STREAM_TOOL): $(B)/obj/libxl-plugin/stream-tool/xlcp-stream.o $(LIBA)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_CORE) $(LIBS_XEN)

.PHONY: install-stream-tool fuzz fuzz-short
install: install-stream-tool
install-stream-tool: $(STREAM_TOOL)
	install -d $(DESTDIR)$(LIBEXECDIR)/xl-checkpoint
	install -m 0755 $(STREAM_TOOL) $(DESTDIR)$(STREAM_TOOL_PATH)

$(FUZZ_BIN): tests/fuzz/fuzz_stream.c $(STREAM_SRCS) libxl-plugin/src/stream.h \
		libxl-plugin/src/stream_int.h
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Ilibxl-plugin/include -Ilibxl-plugin/src -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
		tests/fuzz/fuzz_stream.c $(STREAM_SRCS)

# The corpus grows in build/fuzz/corpus; the seeds are read, never written.
FUZZ_RUN = mkdir -p $(B)/fuzz/corpus $(B)/fuzz/seeds && \
	XLCP_FUZZ_SEEDS=$(B)/fuzz/seeds $(B)/tests/test_stream >/dev/null 2>&1 && \
	$(FUZZ_BIN) -max_total_time=$(1) -max_len=1200000 -rss_limit_mb=2048 -timeout=10 \
	-print_final_stats=1 -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus $(B)/fuzz/seeds \
	tests/fixtures/stream 2>$(B)/fuzz/fuzz.log || { tail -n 60 $(B)/fuzz/fuzz.log; exit 1; }; \
	grep -E '^stat::(number_of_executed_units|peak_rss_mb)' $(B)/fuzz/fuzz.log | tr '\n' ' '; echo

fuzz-short: $(FUZZ_BIN) $(B)/tests/test_stream
	@echo "fuzz: $(FUZZ_SECS) s"
	@$(call FUZZ_RUN,$(FUZZ_SECS))

fuzz: $(FUZZ_BIN) $(B)/tests/test_stream
	@$(call FUZZ_RUN,$(FUZZ_LONG_SECS))

.PHONY: lint-stream
lint: lint-stream
lint-stream:
	clang-format --dry-run --Werror libxl-plugin/stream-tool/*.c tests/fuzz/*.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --std=c11 -Ilibxl-plugin/include -Ilibxl-plugin/src \
		--suppress=missingIncludeSystem libxl-plugin/stream-tool/*.c tests/fuzz/*.c
