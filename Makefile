# zpattern: build, test, lint, demo and labs.
#
#   make demo    a self-contained pub/sub lab on loopback (one publisher, two subscribers)
#   make test    lint, then every test (unit, integration, doc), examples and labs

CARGO ?= cargo
BIN := target/release
PREFIX ?= /usr/local
BINARIES := zpub zsub zreq zrep zpush zpull
EXAMPLES := cats_hats stop_saying washer_dryers knock_knock rpc_double washer_join mapreduce
LABS := pubsub reqrep pipeline

.PHONY: build test unit-tests lint demo labs $(addprefix lab-,$(LABS)) examples install uninstall clean

build:
	$(CARGO) build --release --bins

test: lint unit-tests examples labs

unit-tests:
	$(CARGO) test

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

demo: lab-pubsub

labs: $(addprefix lab-,$(LABS))

$(addprefix lab-,$(LABS)): lab-%: build
	@echo "== lab $*"
	BIN=$(BIN) bash patterns/$*.sh

examples:
	@for example in $(EXAMPLES); do \
		echo "== example $$example"; \
		$(CARGO) run --quiet --release --example $$example || exit 1; \
	done

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(addprefix $(BIN)/,$(BINARIES)) $(DESTDIR)$(PREFIX)/bin/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(BINARIES))

clean:
	$(CARGO) clean
