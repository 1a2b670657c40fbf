# tasklogfs - one non-recursive GNU Makefile.
#
#   make          build everything
#   make test     install what is missing, build, run every test
#   make check    the same tests again under ASan + UBSan
#   make bench    benchmarks that print ratios against a baseline
#   make lint     clang-tidy and banned functions; make format: clang-format
#   make clean

BUILD    ?= build
CC       ?= cc
CFLAGS   ?= -O2 -g
WARNINGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
            -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
            -Wwrite-strings -Wvla -Wformat=2 -Wundef -fno-common
SANITIZE := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer

# Recursive (=) so pkg-config runs only after scripts/deps.sh installed it.
ENGINE_CFLAGS = $(shell pkg-config --cflags sqlite3 libcjson)
ENGINE_LIBS   = $(shell pkg-config --libs sqlite3 libcjson) -lpthread
WEB_CFLAGS    = $(shell pkg-config --cflags libwebsockets)
WEB_LIBS      = $(shell pkg-config --libs libwebsockets)
FS_CFLAGS     = $(shell pkg-config --cflags fuse3)
FS_LIBS       = $(shell pkg-config --libs fuse3)
TEST_CFLAGS   = $(shell pkg-config --cflags cmocka)
TEST_LIBS     = $(shell pkg-config --libs cmocka)

ALL_CFLAGS = $(WARNINGS) $(CFLAGS) -MMD -MP -Iengine $(ENGINE_CFLAGS)

ENGINE_SRC := $(wildcard engine/*.c)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
ENGINE_LIB := $(BUILD)/libtlengine.a

FS_SRC     := $(wildcard fs/*.c)
FS_OBJ     := $(FS_SRC:%.c=$(BUILD)/%.o)
DAEMON     := $(BUILD)/tasklogfs

WEB_SRC    := $(wildcard webview/*.c)
WEB_OBJ    := $(WEB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/webview/page.o
WEB_LIB    := $(BUILD)/libtlweb.a

SDK_OBJ    := $(BUILD)/plugins/sdk.o $(BUILD)/plugins/buffer.o \
              $(BUILD)/plugins/json.o
SDK_LIB    := $(BUILD)/libtasklog.a
SDK_SO     := $(BUILD)/libtasklog.so
RUNNER_SRC := $(wildcard plugins/runner/*.c)
RUNNER_OBJ := $(RUNNER_SRC:%.c=$(BUILD)/%.o)
RUNNER     := $(BUILD)/tasklog
EXAMPLES   := $(BUILD)/examples/dashboard_migration.so \
              $(BUILD)/examples/legacy_export.so $(BUILD)/examples/burst \
              $(BUILD)/examples/checksum
PLUGINS    := $(SDK_LIB) $(SDK_SO) $(RUNNER) $(EXAMPLES)
# The SDK and plugins need libc only: no engine, no pkg-config.
PLUGIN_CFLAGS = $(WARNINGS) $(CFLAGS) -MMD -MP -fPIC -Iplugins

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TESTLIB_OBJ := $(BUILD)/tests/testutil.o

MOUNT_TESTS := $(wildcard tests/mount/test_*.sh)

# libFuzzer targets (clang), built in their own folder by `make fuzz`.
FUZZ_TARGETS := lines filter json http
FUZZ_BIN   := $(FUZZ_TARGETS:%=$(BUILD)/fuzz_%)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SECONDS ?= 8

BENCH_BIN  := $(BUILD)/bench_engine

# Keep intermediate objects (the fuzz targets' shared one).
.SECONDARY:

.PHONY: all deps run stop test test-run check fuzz fuzz-run bench lint format clean

all: $(ENGINE_LIB) $(DAEMON) $(PLUGINS) $(UNIT_BIN) $(BENCH_BIN)

deps:
	@sh scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/fs/%.o: fs/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(FS_CFLAGS) -c $< -o $@

$(BUILD)/webview/%.o: webview/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(WEB_CFLAGS) -c $< -o $@

$(BUILD)/webview/page.c: webview/page.html scripts/embed.sh
	@mkdir -p $(dir $@)
	@sh scripts/embed.sh $< web_page >$@

$(BUILD)/webview/page.o: $(BUILD)/webview/page.c
	@$(CC) $(CFLAGS) -c $< -o $@

$(WEB_LIB): $(WEB_OBJ)
	@$(AR) rcs $@ $^

$(BUILD)/fs/main.o: ALL_CFLAGS += -Iwebview

$(DAEMON): $(FS_OBJ) $(WEB_LIB) $(ENGINE_LIB)
	@echo "  CCLD    $@"
	@$(CC) $(FS_OBJ) $(WEB_LIB) $(ENGINE_LIB) $(LDFLAGS) $(FS_LIBS) \
		$(WEB_LIBS) $(ENGINE_LIBS) -o $@

$(ENGINE_LIB): $(ENGINE_OBJ)
	@$(AR) rcs $@ $^

$(BUILD)/plugins/%.o: plugins/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(PLUGIN_CFLAGS) -c $< -o $@

$(SDK_LIB): $(SDK_OBJ)
	@$(AR) rcs $@ $^

$(SDK_SO): $(SDK_OBJ)
	@echo "  CCLD    $@"
	@$(CC) -shared $(SDK_OBJ) $(LDFLAGS) -lpthread -o $@

# -rdynamic: shared-object plugins find the SDK in the runner itself.
$(RUNNER): $(RUNNER_OBJ) $(SDK_LIB)
	@echo "  CCLD    $@"
	@$(CC) -rdynamic $(RUNNER_OBJ) $(SDK_LIB) $(LDFLAGS) -ldl -lpthread -o $@

$(BUILD)/examples/%.so: plugins/examples/%.c plugins/tasklog.h
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(PLUGIN_CFLAGS) -shared $< $(LDFLAGS) -o $@

$(BUILD)/examples/%: plugins/examples/%.c $(SDK_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(PLUGIN_CFLAGS) $< $(SDK_LIB) $(LDFLAGS) -lpthread -o $@

$(BUILD)/tests/testutil.o: tests/unit/testutil.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(TESTLIB_OBJ) $(WEB_LIB) $(ENGINE_LIB) \
		$(SDK_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	@$(CC) $(ALL_CFLAGS) -Iwebview -Iplugins $(TEST_CFLAGS) $< \
		$(TESTLIB_OBJ) $(WEB_LIB) $(ENGINE_LIB) $(SDK_LIB) $(LDFLAGS) \
		$(TEST_LIBS) $(WEB_LIBS) $(ENGINE_LIBS) -o $@

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/tests/fuzz/fuzz_common.o \
		$(BUILD)/fs/lines.o $(WEB_LIB) $(ENGINE_LIB)
	@echo "  CCLD    $@"
	@$(CC) $(ALL_CFLAGS) $(FS_CFLAGS) -Ifs -Iwebview -Itests/fuzz \
		-fsanitize=fuzzer $< $(BUILD)/tests/fuzz/fuzz_common.o \
		$(BUILD)/fs/lines.o $(WEB_LIB) $(ENGINE_LIB) $(LDFLAGS) \
		$(FS_LIBS) $(WEB_LIBS) $(ENGINE_LIBS) -o $@

$(BENCH_BIN): scripts/bench_engine.c $(ENGINE_LIB)
	@echo "  CCLD    $@"
	@$(CC) $(ALL_CFLAGS) $< $(ENGINE_LIB) $(LDFLAGS) $(ENGINE_LIBS) -o $@

# `make run` mounts ./mnt with ./tasklog.db and a demo task.
run: deps
	@$(MAKE) --no-print-directory $(DAEMON) $(PLUGINS)
	@sh scripts/run.sh $(DAEMON)

stop:
	@fusermount3 -u mnt && echo "unmounted mnt"

# `make test` first installs what is missing, then builds and runs in a
# second make so that pkg-config is asked only once it is there.
test: deps
	@$(MAKE) --no-print-directory test-run
	@$(MAKE) --no-print-directory fuzz

# Each fuzz target replays its corpus (seeds and every crash found so far),
# then fuzzes for FUZZ_SECONDS; `scripts/fuzz.sh build/fuzz 0 RUNS` for long runs.
fuzz: deps
	@$(MAKE) --no-print-directory CC=clang BUILD=build/fuzz \
		CFLAGS="$(FUZZ_FLAGS)" LDFLAGS="-fsanitize=address,undefined" \
		fuzz-run

fuzz-run: $(FUZZ_BIN)
	@sh scripts/fuzz.sh $(BUILD) $(FUZZ_SECONDS)

test-run: $(ENGINE_LIB) $(UNIT_BIN) $(DAEMON) $(PLUGINS)
	@TASKLOGFS=$(DAEMON) TASKLOG_BUILD=$(BUILD) sh scripts/run-tests.sh $(UNIT_BIN) $(MOUNT_TESTS)

check: deps
	@$(MAKE) --no-print-directory BUILD=build/sanitize \
		CFLAGS="$(SANITIZE)" LDFLAGS="-fsanitize=address,undefined" \
		test-run

bench: deps
	@$(MAKE) --no-print-directory $(BENCH_BIN) $(DAEMON) $(BUILD)/examples/checksum
	@sh scripts/bench.sh $(BENCH_BIN) $(DAEMON) $(BUILD)/examples/checksum

lint:
	@sh scripts/lint.sh

format:
	clang-format -i $(wildcard engine/*.[ch] fs/*.[ch] webview/*.[ch] \
		plugins/*.[ch] plugins/*/*.[ch] tests/unit/*.[ch] scripts/*.c)

clean:
	rm -rf build

-include $(ENGINE_OBJ:.o=.d) $(FS_OBJ:.o=.d) $(WEB_OBJ:.o=.d) $(TESTLIB_OBJ:.o=.d) \
	$(SDK_OBJ:.o=.d) $(RUNNER_OBJ:.o=.d) $(BUILD)/tests/fuzz/fuzz_common.d
