// Package dynamolocal fetches AWS's DynamoDB Local and runs it with the machine's Java.
// The engine comes from the npm package amplify-dynamodb-simulator, which ships AWS's
// DynamoDBLocal.jar; the tarball is pinned by version and sha256 and cached under
// .cache/ at the module root, so a fresh machine needs only npm and Java.
package dynamolocal

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sellchat/sellchat/infra/npmcache"
)

// The pinned engine. Bump all three together; the sha256 is of the npm tarball.
const (
	npmPackage = "amplify-dynamodb-simulator"
	Version    = "2.9.30"
	tarballSHA = "3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9"
)

// Dir returns where the engine is cached: dynamodb-local/<Version> in the project's
// cache (npmcache.Root).
func Dir() (string, error) {
	base, err := npmcache.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "dynamodb-local", Version), nil
}

// Fetch makes sure the engine is cached and returns its folder. Concurrent callers
// (parallel test packages) serialise on a lock file, and a half-extracted folder is
// never taken for a finished one.
func Fetch(ctx context.Context) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("dynamodb local cache: %w", err)
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("dynamodb local lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("dynamodb local lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}

	tmp, err := os.MkdirTemp(filepath.Dir(dir), "fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	tarball, err := npmcache.Pack(ctx, npmPackage, Version, tarballSHA, tmp)
	if err != nil {
		return "", err
	}
	staging := filepath.Join(tmp, "emulator")
	if err := extractEmulator(tarball, staging); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(staging, ".complete"), []byte(Version+"\n"), 0o644); err != nil {
		return "", err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(staging, dir); err != nil {
		return "", fmt.Errorf("install dynamodb local: %w", err)
	}
	return dir, nil
}

// extractEmulator copies package/emulator/** out of the npm tarball.
func extractEmulator(tarball, dest string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", tarball, err)
	}
	tr := tar.NewReader(gz)
	const prefix = "package/emulator/"
	found := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", tarball, err)
		}
		rel, ok := strings.CutPrefix(hdr.Name, prefix)
		if !ok || rel == "" || hdr.Typeflag != tar.TypeReg {
			continue
		}
		target := filepath.Join(dest, filepath.FromSlash(rel))
		if !strings.HasPrefix(target, filepath.Clean(dest)+string(os.PathSeparator)) {
			return fmt.Errorf("tarball entry %q escapes the destination", hdr.Name)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, tr); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		found = found || rel == "DynamoDBLocal.jar"
	}
	if !found {
		return fmt.Errorf("%s has no emulator/DynamoDBLocal.jar", filepath.Base(tarball))
	}
	return nil
}

// Options says how to run the engine.
type Options struct {
	Port   int    // 0: a free port
	DBPath string // empty: in memory
	Log    io.Writer
}

// Process is a running DynamoDB Local.
type Process struct {
	Endpoint string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Start fetches the engine if needed, starts it and waits until it answers.
//
// With no port given it picks one, and picking is racy: between our probe and Java's
// bind, any other listener on the machine (another package's test server, another
// engine) may take the port. So the port comes from below the kernel's ephemeral range,
// where servers listening on port 0 are never placed (Java's IPv6 wildcard listener does
// not keep a later 127.0.0.1 listener off its port, so a test server handed the same
// port once answered our CreateTable with its own 401); the answer must be DynamoDB's
// own; and an engine that cannot have its port is started again on another one.
func Start(ctx context.Context, opts Options) (*Process, error) {
	dir, err := Fetch(ctx)
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("java not found on PATH: DynamoDB Local needs Java 17 or newer")
	}
	attempts := 1
	if opts.Port == 0 {
		attempts = 5
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		p, err := start(ctx, java, dir, port, opts)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if !errors.Is(err, ErrLostPort) || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// ErrLostPort: the engine exited before serving, most likely because the port was taken.
var ErrLostPort = errors.New("DynamoDB Local exited before answering (is the port taken?)")

func start(ctx context.Context, java, dir string, port int, opts Options) (*Process, error) {
	args := []string{
		"-Xmx1g", "-XX:+UseSerialGC",
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-port", strconv.Itoa(port), "-sharedDb",
	}
	if opts.DBPath != "" {
		abs, err := filepath.Abs(opts.DBPath)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, err
		}
		args = append(args, "-dbPath", abs)
	} else {
		args = append(args, "-inMemory")
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	// Die with our process: a crashed test run must not leave a JVM holding the port.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	p := &Process{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	if err := p.waitReady(ctx, 60*time.Second); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Process) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for {
		switch p.probe(ctx, client) {
		case dynamoDB:
			return nil
		case stranger:
			// Java listens on the IPv6 wildcard, which Linux lets coexist with another
			// server's 127.0.0.1 on the same port, and the specific address wins: this
			// port is not ours to use, now or later.
			return fmt.Errorf("%w: %s is answered by another server", ErrLostPort, p.Endpoint)
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%w on %s", ErrLostPort, p.Endpoint)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("DynamoDB Local did not answer on %s within %s", p.Endpoint, limit)
		}
	}
}

type answerer int

const (
	nobody answerer = iota
	dynamoDB
	stranger
)

// probe tells who answers on the endpoint: DynamoDB refuses an unsigned ListTables with
// its own error shape and request id header; anything else is a stranger.
func (p *Process) probe(ctx context.Context, client *http.Client) answerer {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.Endpoint, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	res, err := client.Do(req)
	if err != nil {
		return nobody
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.Header.Get("X-Amzn-Requestid") != "" && strings.Contains(string(body), "com.amazonaws.dynamodb") {
		return dynamoDB
	}
	return stranger
}

// Stop ends the engine: politely first, then by force.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// freePort picks a port below the kernel's ephemeral range (32768 and up on Linux), so
// that no server asking the kernel for "any port" is handed it, during Java's start or
// while the engine runs.
func freePort() (int, error) {
	const lo, hi = 20000, 32000
	start := lo + rand.IntN(hi-lo)
	for i := 0; i < hi-lo; i++ {
		port := lo + (start-lo+i)%(hi-lo)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("find a free port: none between 20000 and 32000")
}
