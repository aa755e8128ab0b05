package apps

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// zipTime is every entry's modification time, so that the same package always zips to
// the same bytes. It is the earliest time a zip's MS-DOS date field can hold.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Zip writes the package in dir to w as the zip Zendesk takes: manifest.json,
// translations/ and assets/ at the root of the archive (a zip of the folder itself
// would nest them and be refused), entries sorted, times fixed. Like ZAS and zcli it
// leaves out tmp/; it also leaves out dotfiles (editor and OS litter). A symbolic link
// is an error, as Zendesk refuses packages holding one.
func Zip(dir string, w io.Writer) error {
	files, err := packageFiles(dir)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, rel := range files {
		if err := addFile(zw, dir, rel); err != nil {
			return fmt.Errorf("zip %s: %w", rel, err)
		}
	}
	return zw.Close()
}

// packageFiles lists what goes into the zip, as sorted slash paths.
func packageFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case strings.HasPrefix(d.Name(), ".") || rel == "tmp":
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link, which Zendesk refuses in a package", rel)
		case d.Type().IsRegular():
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list package %s: %w", dir, err)
	}
	slices.Sort(files)
	return files, nil
}

func addFile(zw *zip.Writer, dir, rel string) error {
	hdr := &zip.FileHeader{Name: rel, Method: zip.Deflate, Modified: zipTime}
	hdr.SetMode(0o644)
	dst, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	src, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = io.Copy(dst, src)
	return err
}

// Packages lists the app packages under root: the folders holding a manifest.json.
func Packages(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list app packages: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && fileExists(filepath.Join(root, e.Name(), manifestFile)) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// fileExists reports a regular file at p.
func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

// Build validates each package under root and writes it to outDir/<name>.zip. A
// package with errors stops the build before anything is written; warnings are
// returned for the caller to show.
func Build(root, outDir string) (written []string, warnings []Problem, err error) {
	names, err := Packages(root)
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no app package under %s", root)
	}
	for _, name := range names {
		problems := Validate(filepath.Join(root, name))
		if errs := Errors(problems); len(errs) > 0 {
			return nil, nil, fmt.Errorf("package %s is not valid:\n%s", name, joinProblems(errs))
		}
		warnings = append(warnings, slices.DeleteFunc(problems, func(p Problem) bool { return !p.Warning })...)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create %s: %w", outDir, err)
	}
	for _, name := range names {
		out := filepath.Join(outDir, name+".zip")
		if err := writeZip(filepath.Join(root, name), out); err != nil {
			return written, warnings, err
		}
		written = append(written, out)
	}
	return written, warnings, nil
}

// writeZip writes the zip beside its final name and renames it into place, so a failed
// build never leaves a half-written package that looks whole.
func writeZip(dir, out string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if err := Zip(dir, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return os.Chmod(out, 0o644)
}

func joinProblems(problems []Problem) string {
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = "  " + p.String()
	}
	return strings.Join(lines, "\n")
}
