# zpattern: build, test, lint, demo and labs.
#
#   make demo    a self-contained pub/sub lab on loopback (one publisher, two subscribers)
#   make test    lint, then every test (unit, integration, doc), examples, labs and the bench smoke
#   make bench   zpattern against raw libzmq and pyzmq, side by side (a few minutes; see BENCHMARKS.md)
#   make lab-three-stage        download -> resize -> upload, 3/4/5 workers, 10,000 items
#   make lab-three-stage-kill   the same with a resize worker killed mid-batch

CARGO ?= cargo
BIN := target/release
PREFIX ?= /usr/local
BINARIES := zpub zsub zreq zrep zpush zpull
EXAMPLES := cats_hats stop_saying washer_dryers knock_knock rpc_double washer_join mapreduce
LABS := pubsub reqrep pipeline three-stage

.PHONY: build test unit-tests lint demo labs $(addprefix lab-,$(LABS)) lab-three-stage-kill examples install uninstall clean
.PHONY: bench bench-smoke

build:
	$(CARGO) build --release --bins

test: lint unit-tests examples labs bench-smoke

unit-tests:
	$(CARGO) test

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

demo: lab-pubsub

labs: $(addprefix lab-,$(LABS)) lab-three-stage-kill

# A lab named a-b runs patterns/a_b.sh.
$(addprefix lab-,$(LABS)): lab-%: build
	@echo "== lab $*"
	BIN=$(BIN) bash patterns/$(subst -,_,$*).sh

lab-three-stage-kill: build
	@echo "== lab three-stage with a worker killed"
	BIN=$(BIN) KILL=1 bash patterns/three_stage.sh

examples:
	@for example in $(EXAMPLES); do \
		echo "== example $$example"; \
		$(CARGO) run --quiet --release --example $$example || exit 1; \
	done

# The benchmark prints a markdown report on stdout (progress on stderr): paste it into
# BENCHMARKS.md. The smoke run uses tiny counts so the harness cannot rot; it checks
# that every case runs and delivers everything, never how fast.
bench:
	$(CARGO) bench --bench zbench

bench-smoke:
	$(CARGO) bench --bench zbench -- --smoke > /dev/null

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(addprefix $(BIN)/,$(BINARIES)) $(DESTDIR)$(PREFIX)/bin/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(BINARIES))

clean:
	$(CARGO) clean
