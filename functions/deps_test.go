package functions_test

import (
	"os/exec"
	"strings"
	"testing"
)

// heavyDeps are packages that each add megabytes to a bootstrap (size is cold
// start): libphonenumber's metadata and protobuf runtime (7 MB), and text/template,
// whose reflective method calls keep every exported method of every type (3.4 MB).
var heavyDeps = []string{"github.com/nyaruka/phonenumbers", "text/template"}

// lean are the functions that never read a phone number nor render a template, so
// they stay under the 10 MB target; panel, transcripts and privacy match visitors by phone.
var lean = []string{"settings", "oauth", "feed", "chatwebhook", "leads", "chatpoll"}

func TestLeanFunctionsDoNotLinkHeavyPackages(t *testing.T) {
	t.Parallel()
	for _, fn := range lean {
		out, err := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "./"+fn).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", fn, err)
		}
		deps := strings.Fields(string(out))
		for _, heavy := range heavyDeps {
			for _, d := range deps {
				if d == heavy {
					t.Errorf("functions/%s links %s; find the import that brought it (go list -deps) and keep it out", fn, heavy)
				}
			}
		}
	}
}
