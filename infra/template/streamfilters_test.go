package template_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/infra/template"
)

// The local stack and the tests take the transcripts function's stream filters from
// template.yaml itself; found from a package's folder, it is the module's file.
func TestTheTranscriptsStreamFiltersAreReadFromTheModulesTemplate(t *testing.T) {
	t.Parallel()
	path, err := template.File()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Abs(filepath.Join("..", "..", "template.yaml"))
	if path != want {
		t.Fatalf("File() = %s, want %s", path, want)
	}
	got, err := template.StreamFilters(template.TranscriptsFunction)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 { // Lambda's default quota per event source
		t.Fatalf("%d patterns, want the template's 5: %q", len(got), got)
	}
	for _, p := range got {
		if !strings.HasPrefix(p, "{") || !strings.Contains(p, `"dynamodb"`) {
			t.Errorf("pattern %q is not a stream record pattern", p)
		}
	}
}

func TestReadingStreamFiltersFailsLoudlyWhenTheTemplateCannotSay(t *testing.T) {
	t.Parallel()
	deployed := filepath.Join("..", "..", "template.yaml")
	twoStreams := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(twoStreams, []byte(`Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        A: {Type: DynamoDB, Properties: {Stream: !GetAtt T.StreamArn}}
        B: {Type: DynamoDB, Properties: {Stream: !GetAtt U.StreamArn}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path, function, want string }{
		{"a missing template", filepath.Join(t.TempDir(), "template.yaml"), template.TranscriptsFunction, "read template"},
		{"a function the template lacks", deployed, "NoSuchFunction", "no function NoSuchFunction"},
		{"a function with no stream event", deployed, "SettingsFunction", "no DynamoDB event"},
		{"a function with two stream events", twoStreams, "Fn", "2 DynamoDB events"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := template.StreamFiltersIn(c.path, c.function)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("patterns %q, err %v; want an error saying %q", got, err, c.want)
			}
		})
	}
}

// TestAFunctionsTimeoutIsItsOwnOrTheGlobals: the deadline the tests give a
// bootstrap is the template's: the chat poll's own 55 s, the transcripts function's
// 300 s, the settings function's the Globals' 15 s.
func TestAFunctionsTimeoutIsItsOwnOrTheGlobals(t *testing.T) {
	for fn, want := range map[string]time.Duration{"ChatpollFunction": 55 * time.Second, "TranscriptsFunction": 300 * time.Second, "SettingsFunction": 15 * time.Second} {
		if got, err := template.Timeout(fn); err != nil || got != want {
			t.Errorf("%s: %v, %v; want %v", fn, got, err, want)
		}
	}
	if _, err := template.Timeout("NoSuchFunction"); err == nil {
		t.Error("a function not in the template has a timeout")
	}
}
