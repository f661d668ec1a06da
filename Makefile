# zpattern: build, test, lint, demo and labs.
#
#   make demo    a self-contained pub/sub lab on loopback (one publisher, two subscribers)
#   make test    lint, then every test (unit, integration, doc), examples, labs and the bench smoke
#   make labs    every lab in patterns/; make lab LAB=name runs patterns/name.lab
#   make bench   zpattern against raw libzmq and pyzmq, side by side (a few minutes; see BENCHMARKS.md)

CARGO ?= cargo
BIN := target/release
PREFIX ?= /usr/local
BINARIES := zpub zsub zreq zrep zpush zpull zlab zkeygen
EXAMPLES := cats_hats stop_saying washer_dryers knock_knock rpc_double washer_join mapreduce
LABS := $(basename $(notdir $(wildcard patterns/*.lab)))
# Options for zlab run, e.g. ZLAB_OPTS='--report lab.html' or ZLAB_OPTS=--json.
ZLAB_OPTS ?=

.PHONY: build test unit-tests lint demo lab labs $(addprefix lab-,$(LABS)) examples install uninstall clean
.PHONY: bench bench-smoke zeromq-pipe

build:
	$(CARGO) build --release --bins

test: lint unit-tests examples labs bench-smoke

# Then the library alone, without the command-line tools and the lab: it must build,
# and its tests and doc examples run, with nothing but what messaging needs.
unit-tests:
	$(CARGO) test
	$(CARGO) test --no-default-features

# rustfmt and clippy are rustup components a minimal toolchain lacks: say which,
# and how to add it, rather than fail on an unknown cargo command.
lint:
	@for tool in fmt clippy; do \
		$(CARGO) $$tool --version >/dev/null 2>&1 || { \
			component=$$tool; [ $$tool = fmt ] && component=rustfmt; \
			echo "make lint: cargo $$tool is missing; install it with: rustup component add $$component" >&2; \
			exit 2; }; \
	done
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet

demo: lab-pubsub

# Every lab runs, even after one fails; the target fails if any did. A lab whose
# impairment could not be applied here (zlab's exit 4, SKIPPED) is listed as
# skipped, and fails nothing.
labs: build
	@failed=""; skipped=""; for lab in $(LABS); do \
		echo "== lab $$lab"; \
		$(BIN)/zlab run $(ZLAB_OPTS) patterns/$$lab.lab; \
		case $$? in \
			0) ;; \
			4) skipped="$$skipped $$lab" ;; \
			*) failed="$$failed $$lab" ;; \
		esac; \
	done; \
	if [ -n "$$skipped" ]; then echo "labs skipped (their impairment cannot be applied here):$$skipped"; fi; \
	if [ -n "$$failed" ]; then echo "labs failed:$$failed"; exit 1; fi

# The lab's name is checked before the build: a typo lists the labs at once.
lab:
	@test -n "$(LAB)" || { echo "usage: make lab LAB=name (one of: $(LABS))" >&2; exit 2; }
	@test -f patterns/$(LAB).lab || { echo "make lab: no lab '$(LAB)' (no patterns/$(LAB).lab); the labs are: $(LABS)" >&2; exit 2; }
	@$(MAKE) --no-print-directory build
	$(BIN)/zlab run $(ZLAB_OPTS) patterns/$(LAB).lab

$(addprefix lab-,$(LABS)): lab-%: build
	$(BIN)/zlab run $(ZLAB_OPTS) patterns/$*.lab

examples:
	@for example in $(EXAMPLES); do \
		echo "== example $$example"; \
		$(CARGO) run --quiet --release --example $$example || exit 1; \
	done

# The benchmark prints a markdown report on stdout (progress on stderr): paste it into
# BENCHMARKS.md. The smoke run uses tiny counts so the harness cannot rot; it checks
# that every case runs and delivers everything, never how fast.
# Both also build benches/zeromq_pipe, the same job on the pure-Rust zeromq crate (a
# separate package, so that tokio never enters the library's own builds).
bench: zeromq-pipe
	$(CARGO) bench --bench zbench

bench-smoke: zeromq-pipe
	$(CARGO) bench --bench zbench -- --smoke > /dev/null

zeromq-pipe:
	$(CARGO) build --quiet --release --manifest-path benches/zeromq_pipe/Cargo.toml --target-dir target/zeromq_pipe

# With the binaries, their shell completions (bash, zsh, fish) and man pages, which
# each binary writes from its own option definitions (NAME --generate KIND).
SHARE = $(DESTDIR)$(PREFIX)/share
BASH_DIR = $(SHARE)/bash-completion/completions
ZSH_DIR = $(SHARE)/zsh/site-functions
FISH_DIR = $(SHARE)/fish/vendor_completions.d
MAN_DIR = $(SHARE)/man/man1

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(BASH_DIR) $(ZSH_DIR) $(FISH_DIR) $(MAN_DIR)
	install -m 755 $(addprefix $(BIN)/,$(BINARIES)) $(DESTDIR)$(PREFIX)/bin/
	@set -e; for bin in $(BINARIES); do \
		$(BIN)/$$bin --generate completions-bash > $(BASH_DIR)/$$bin; \
		$(BIN)/$$bin --generate completions-zsh > $(ZSH_DIR)/_$$bin; \
		$(BIN)/$$bin --generate completions-fish > $(FISH_DIR)/$$bin.fish; \
		$(BIN)/$$bin --generate man > $(MAN_DIR)/$$bin.1; \
	done
	@echo "installed $(BINARIES) in $(DESTDIR)$(PREFIX)/bin, their completions and man pages in $(SHARE)"

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(BINARIES))
	rm -f $(addprefix $(BASH_DIR)/,$(BINARIES)) $(addprefix $(ZSH_DIR)/_,$(BINARIES))
	rm -f $(addsuffix .fish,$(addprefix $(FISH_DIR)/,$(BINARIES))) $(addsuffix .1,$(addprefix $(MAN_DIR)/,$(BINARIES)))

clean:
	$(CARGO) clean
