// Command apps checks the Zendesk app packages in infra/apps and writes each one as
// bin/apps/<name>.zip, ready to upload (`make apps`). A package that Zendesk would
// refuse stops it before anything is written; warnings are printed and do not.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sellchat/sellchat/infra/apps"
)

func main() {
	src := flag.String("src", "infra/apps", "folder holding one folder per app package")
	out := flag.String("out", "bin/apps", "folder to write the zips to")
	flag.Parse()

	written, warnings, err := apps.Build(*src, *out)
	for _, w := range warnings {
		fmt.Fprintln(os.Stderr, "apps:", w)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apps:", err)
		os.Exit(1)
	}
	for _, path := range written {
		fmt.Println(path)
	}
}
