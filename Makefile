# The two commands of the README: `make test` and `make demo`. Both install what they need on a
# fresh Debian machine (scripts/setup.sh) and work offline once the Swift packages are cached.
SWIFT ?= swift

.PHONY: setup build test demo bench clean fuzz

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product genesis

test: setup
	$(SWIFT) build --product genesis
	$(SWIFT) test --disable-swift-testing

demo: build
	@GENESIS=.build/release/genesis scripts/demo.sh

# Each parser under libFuzzer + AddressSanitizer for FUZZ_SECONDS each, on seeds made from the
# fixtures (scripts/fuzz_run.sh; its own scratch path .build-fuzz; the table for RELIABILITY.md).
FUZZ_SECONDS ?= 60
fuzz: setup
	$(SWIFT) build --product genesis
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz_run.sh

clean:
	rm -rf .build demo-out
