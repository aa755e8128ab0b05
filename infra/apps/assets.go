package apps

import (
	"image/png"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// checkMarketplace mirrors validations/marketplace.rb: no symbolic links anywhere in the
// package, and only the experiments Zendesk allows switched on.
func (c *checker) checkMarketplace(m *manifest) {
	if link := c.firstSymlink(); link != "" {
		c.fail("symlink_in_zip", zasMarketplace, link, "symbolic links are not allowed in the package")
	}
	experiments, _ := m.raw["experiments"].(map[string]any)
	for _, name := range sortedKeys(experiments) {
		if truthy(experiments[name]) && !slices.Contains(allowedExperiments, name) {
			c.fail("invalid_experiment", zasMarketplace, manifestFile, "experiment %q is unknown or unavailable", name)
		}
	}
}

func (c *checker) firstSymlink() string {
	var found string
	_ = filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			rel, _ := filepath.Rel(c.dir, p)
			found = filepath.ToSlash(rel)
			return fs.SkipAll
		}
		return nil
	})
	return found
}

const bannerFile = "assets/banner.png"

// checkBanner mirrors validations/banner.rb: an optional assets/banner.png must be a PNG
// of 830x200, or twice that.
func (c *checker) checkBanner() {
	if !c.hasFile(bannerFile) {
		return
	}
	w, h, ok := c.pngSize(bannerFile)
	switch {
	case !ok:
		c.fail("banner.invalid_format", zasBanner, bannerFile, "the banner must be a PNG file")
	case !(w == 830 && h == 200) && !(w == 1660 && h == 400):
		c.fail("banner.invalid_size", zasBanner, bannerFile, "the banner is %dx%d; it must be 830x200 (or 1660x400)", w, h)
	}
}

func (c *checker) pngSize(rel string) (w, h int, ok bool) {
	f, err := os.Open(filepath.Join(c.dir, filepath.FromSlash(rel)))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return 0, 0, false
	}
	return cfg.Width, cfg.Height, true
}

// checkFileTypes mirrors validations/mime.rb, a warning for archives, documents and
// other files an app has no use for, by extension or by content.
func (c *checker) checkFileTypes() {
	for _, rel := range c.files() {
		ext := strings.TrimPrefix(path.Ext(rel), ".")
		if slices.Contains(blockedFileTypes, ext) || slices.Contains(blockedFileTypes, c.sniffedSubtype(rel)) {
			c.warn("unsupported_mime_type_detected", zasMime, rel, "this type of file is not supported in an app package")
		}
	}
}

// sniffedSubtype is the subtype of the file's detected content type, with any "x-"
// dropped so that Go's names (application/x-gzip) meet ZAS's (gzip).
func (c *checker) sniffedSubtype(rel string) string {
	data, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(rel)))
	if err != nil {
		return ""
	}
	mediaType, _, _ := strings.Cut(http.DetectContentType(data), ";")
	_, sub, _ := strings.Cut(mediaType, "/")
	return strings.TrimPrefix(sub, "x-")
}

// logos are the app icons Zendesk's publishing guide requires
// (developer.zendesk.com/apps/docs/publish/create_assets): PNGs named logo.png,
// 320x320, and logo-small.png, 128x128. ZAS does not check them, so these are warnings.
var (
	largeLogo = logo{"logo.png", 320}
	smallLogo = logo{"logo-small.png", 128}
	logos     = []logo{largeLogo, smallLogo}
)

// logo is an icon's file name and its side in pixels.
type logo struct {
	name string
	size int
}

// checkLogos warns when an icon is missing or the wrong size. For an app in more than
// one product Zendesk takes each product's small icon from assets/<product>/ (ZAS
// package.rb generate_logo_hash), so those are checked as well.
func (c *checker) checkLogos(m *manifest) {
	for _, logo := range logos {
		c.checkLogo("assets/"+logo.name, logo.size, publishingGuide)
	}
	if ps := m.products(); len(ps) > 1 {
		for _, p := range ps {
			c.checkLogo("assets/"+p+"/"+smallLogo.name, smallLogo.size, zasPackage)
		}
	}
}

func (c *checker) checkLogo(rel string, size int, source string) {
	w, h, ok := c.pngSize(rel)
	switch {
	case !c.hasFile(rel):
		c.warn("missing_logo", source, rel, "missing; Zendesk shows the app's icon from here")
	case !ok:
		c.warn("invalid_logo", source, rel, "not a PNG")
	case w != size || h != size:
		c.warn("invalid_logo", source, rel, "%dx%d; it should be %dx%d", w, h, size, size)
	}
}

// checkSettingPlaceholders is sellchat's own check, not a ZAS rule: ZAS lets any URL
// with {{setting. through unchecked, so a misspelt parameter name would only show up
// as a broken iframe after install. Each placeholder must name a declared parameter.
func (c *checker) checkSettingPlaceholders(m *manifest) {
	for _, p := range m.locations {
		u, _ := p.url()
		for _, name := range settingNames(u) {
			if !slices.ContainsFunc(m.parameters, func(param parameter) bool { return param.name == name }) {
				c.fail("undeclared_setting", sellchatRule, manifestFile,
					"location.%s.%s uses {{setting.%s}} but no parameter has that name", p.product, p.name, name)
			}
		}
	}
}
