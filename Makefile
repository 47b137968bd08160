# The two commands of the README: `make test` and `make demo`. Both install what they need on a
# fresh Debian machine (scripts/setup.sh) and work offline once the Swift packages are cached.
SWIFT ?= swift

.PHONY: setup build test demo bench clean fuzz dist check-dist

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product genesis
	$(SWIFT) build -c release --product genesis-hdf5-helper

# The build first, then a line naming any header or library it took from outside setup.sh's
# packages (a hand-installed file would make this machine pass where a fresh one fails: exit 1).
test: setup
	$(SWIFT) build --build-tests
	@scripts/check_build_inputs.sh
	$(SWIFT) test --skip-build --disable-swift-testing

demo: build
	@GENESIS=.build/release/genesis scripts/demo.sh

# Each parser under libFuzzer + AddressSanitizer for FUZZ_SECONDS each, on seeds made from the
# fixtures (scripts/fuzz_run.sh; its own scratch path .build-fuzz; the table for RELIABILITY.md).
FUZZ_SECONDS ?= 60
fuzz: setup
	$(SWIFT) build --product genesis
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz_run.sh

# A release that needs no Swift toolchain and no -dev package: dist/genesis-VERSION-linux-x86_64.tar.gz
# and dist/genesis_weights-VERSION-py3-none-manylinux_*_x86_64.whl (scripts/dist.sh; VERSION is the
# one place the version is set). check-dist proves it self-contained (scripts/check_dist.sh, root).
dist: setup
	@scripts/dist.sh

check-dist:
	@scripts/check_dist.sh

clean:
	rm -rf .build .build-dist demo-out dist
