// Package template reads from template.yaml, the deployed wiring, what the local
// stack and the tests must do as AWS does, so that they take it from the template
// instead of keeping a copy that can drift. (Its tests check the template against
// the code.)
package template

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// TranscriptsFunction is the logical id of the function the table's stream feeds.
const TranscriptsFunction = "TranscriptsFunction"

// File returns the path of the module's template.yaml: the one beside go.mod in the
// working directory or the nearest of its parents, so that `make run` (from the
// module's root) and a package's tests (from its folder) find the same file.
func File() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find template.yaml: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			path := filepath.Join(dir, "template.yaml")
			if _, err := os.Stat(path); err != nil {
				return "", fmt.Errorf("find template.yaml beside %s: %w", filepath.Join(dir, "go.mod"), err)
			}
			return path, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find template.yaml: no go.mod in the working directory or its parents (run from the sellchat module)")
		}
		dir = parent
	}
}

// StreamFilters returns the FilterCriteria patterns of function's DynamoDB stream
// event in the module's template.yaml (File), in the template's order; none when
// the event has no FilterCriteria. A template that cannot be found or read, a
// function that is not in it, or one with no DynamoDB event is an error.
func StreamFilters(function string) ([]string, error) {
	path, err := File()
	if err != nil {
		return nil, err
	}
	return StreamFiltersIn(path, function)
}

// StreamFiltersIn is StreamFilters for the template at path.
func StreamFiltersIn(path, function string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	// Only the fields read here are decoded: the rest of the template (its !Ref,
	// !GetAtt, ...) is left alone.
	var tmpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Events map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						FilterCriteria struct {
							Filters []struct {
								Pattern string `yaml:"Pattern"`
							} `yaml:"Filters"`
						} `yaml:"FilterCriteria"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	fn, ok := tmpl.Resources[function]
	if !ok || fn.Type != "AWS::Serverless::Function" {
		return nil, fmt.Errorf("%s: no function %s", path, function)
	}
	var patterns []string
	found := 0
	for _, ev := range fn.Properties.Events {
		if ev.Type != "DynamoDB" {
			continue
		}
		found++
		for i, f := range ev.Properties.FilterCriteria.Filters {
			if f.Pattern == "" {
				return nil, fmt.Errorf("%s: %s's stream filter %d has no Pattern", path, function, i+1)
			}
			patterns = append(patterns, f.Pattern)
		}
	}
	switch found {
	case 0:
		return nil, fmt.Errorf("%s: %s has no DynamoDB event", path, function)
	case 1:
		return patterns, nil
	default:
		// Each event source mapping has filters of its own: one list cannot stand
		// for two.
		return nil, fmt.Errorf("%s: %s has %d DynamoDB events; say which", path, function, found)
	}
}

// Timeout returns how long Lambda lets function run an invocation: its own Timeout
// in the module's template.yaml (File), else the Globals' (seconds). A function
// that is not in the template, or a template with neither, is an error.
func Timeout(function string) (time.Duration, error) {
	path, err := File()
	if err != nil {
		return 0, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read template: %w", err)
	}
	var tmpl struct {
		Globals struct {
			Function struct {
				Timeout int `yaml:"Timeout"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Timeout int `yaml:"Timeout"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	fn, ok := tmpl.Resources[function]
	if !ok || fn.Type != "AWS::Serverless::Function" {
		return 0, fmt.Errorf("%s: no function %s", path, function)
	}
	secs := cmp.Or(fn.Properties.Timeout, tmpl.Globals.Function.Timeout)
	if secs <= 0 {
		return 0, fmt.Errorf("%s: %s has no Timeout, and the Globals none either", path, function)
	}
	return time.Duration(secs) * time.Second, nil
}
