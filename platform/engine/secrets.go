package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/plat-sh/plat/platform"
	"github.com/plat-sh/plat/platform/hostcmd"
)

// defaultSecretTimeout bounds a secret command without a timeout.
const defaultSecretTimeout = platform.DefaultSecretTimeout

// Masked is what plat shows in place of a secret value.
const Masked = "(secret)"

// resolveSecrets reads every secret of env from its source on this
// machine. Errors name the secret, where it is declared and the source,
// never a value.
func (e *Engine) resolveSecrets(ctx context.Context, env *platform.Environment) (map[string]string, error) {
	if len(env.Secrets) == 0 {
		return nil, nil
	}
	// What plat starts from here on (hooks, build tasks, buildpacks, the
	// local provider's processes) must not inherit a secret through the
	// variable it was read from.
	defer func() {
		for _, s := range env.Secrets {
			if s.FromEnv != "" {
				os.Unsetenv(s.FromEnv)
			}
		}
	}()
	out := map[string]string{}
	dotenvs := map[string]map[string]string{}
	for _, s := range env.Secrets {
		v, err := e.resolveSecret(ctx, s, dotenvs)
		if err != nil {
			return nil, fmt.Errorf("%w: secret %s (%s): %s", ErrConfig, s.Name, s.Where, e.mask(err.Error()))
		}
		out[s.Name] = v
		e.addMask(v)
	}
	return out, nil
}

func (e *Engine) resolveSecret(ctx context.Context, s platform.Secret, dotenvs map[string]map[string]string) (string, error) {
	switch {
	case s.Dotenv != "":
		vals, ok := dotenvs[s.Dotenv]
		if !ok {
			var err error
			if vals, err = e.readDotenv(ctx, s.Dotenv); err != nil {
				return "", err
			}
			dotenvs[s.Dotenv] = vals
		}
		key := s.Key
		if key == "" {
			key = s.Name
		}
		v, ok := vals[key]
		if !ok {
			return "", fmt.Errorf("%s has no %s", s.Dotenv, key)
		}
		return v, nil
	case s.FromEnv != "":
		v, ok := os.LookupEnv(s.FromEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("the environment variable %s is not set on this machine", s.FromEnv)
		}
		return v, nil
	case len(s.Command) > 0:
		return e.secretCommand(ctx, s)
	}
	return "", errors.New("no source")
}

// readDotenv reads a KEY=value file that must be outside the project and
// its repository and readable by its owner alone.
func (e *Engine) readDotenv(ctx context.Context, path string) (map[string]string, error) {
	roots := []string{e.Project.Dir}
	if top, err := git(ctx, e.Project.Dir, "rev-parse", "--show-toplevel"); err == nil {
		roots = append(roots, strings.TrimSpace(top))
	}
	real := path
	if r, err := filepath.EvalSymlinks(path); err == nil {
		real = r
	}
	for _, root := range roots {
		if rr, err := filepath.EvalSymlinks(root); err == nil {
			root = rr
		}
		if rel, err := filepath.Rel(root, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("the dotenv file %s is inside the repository %s, where it could be committed or deployed; keep it outside (for example under ~/.config) with mode 0600", path, root)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dotenv file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("the dotenv file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("the dotenv file %s has mode %04o: others can read it, so plat refuses it; run chmod 600 %s", path, perm, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dotenv file: %w", err)
	}
	defer f.Close()
	vals, err := godotenv.Parse(f)
	if err != nil {
		// The parser's message may quote a line of the file: not shown.
		return nil, fmt.Errorf("the dotenv file %s cannot be parsed as KEY=value lines", path)
	}
	return vals, nil
}

// secretCommand runs a secret's command as argv (no shell) with a
// timeout. Its stdout, less one trailing newline, is the value; its stderr
// is shown as log lines with any value plat knows masked.
func (e *Engine) secretCommand(ctx context.Context, s platform.Secret) (string, error) {
	d := s.Timeout
	if d <= 0 {
		d = defaultSecretTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cmd := exec.CommandContext(cctx, s.Command[0], s.Command[1:]...)
	cmd.Dir = e.Project.Dir
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	v := strings.TrimSuffix(strings.TrimSuffix(stdout.String(), "\n"), "\r")
	if v != "" {
		e.addMask(v)
	}
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		e.emit(platform.Event{Type: platform.EventLog, Host: "localhost", Message: "secret " + s.Name + ": " + sc.Text()})
	}
	label := strings.Join(s.Command, " ")
	switch {
	case cctx.Err() == context.DeadlineExceeded:
		return "", fmt.Errorf("the command %s did not finish within %s", label, d)
	case err != nil:
		return "", fmt.Errorf("the command %s failed: %v", label, err)
	case v == "":
		return "", fmt.Errorf("the command %s printed nothing", label)
	}
	return v, nil
}

// addMask makes emit hide v. Values shorter than 4 bytes are not masked
// in text (they would hide ordinary words), but they are never printed
// by plat either.
func (e *Engine) addMask(v string) {
	if len(v) < 4 {
		return
	}
	e.maskMu.Lock()
	defer e.maskMu.Unlock()
	for _, m := range e.masks {
		if m == v {
			return
		}
	}
	e.masks = append(e.masks, v)
	// Longest first, so a value that contains another is masked whole.
	sort.Slice(e.masks, func(i, j int) bool { return len(e.masks[i]) > len(e.masks[j]) })
}

// mask replaces every known secret value in s.
func (e *Engine) mask(s string) string {
	e.maskMu.Lock()
	defer e.maskMu.Unlock()
	for _, m := range e.masks {
		if strings.Contains(s, m) {
			s = strings.ReplaceAll(s, m, Masked)
		}
	}
	return s
}

// secretDigests returns name → HMAC-SHA256(name NUL value), keyed from the
// store's age identity.
func (e *Engine) secretDigests(values map[string]string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	key, err := e.store().Keys.DigestKey()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range values {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(k + "\x00" + v))
		out[k] = "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	}
	return out, nil
}

// digestKey folds secret digests into a source key.
func digestKey(key string, digests map[string]string) string {
	if key == "" || len(digests) == 0 {
		return key
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", key)
	for _, k := range sortedNames(digests) {
		fmt.Fprintf(h, "secret %s %s\n", k, digests[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedNames(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// writeSecrets installs a release's secrets file on t (0600, see
// hostcmd.WriteSecrets). The content travels on stdin only.
func (e *Engine) writeSecrets(ctx context.Context, t *platform.Target, id string, values map[string]string) error {
	if len(values) == 0 {
		return nil
	}
	cmd := hostcmd.WriteSecrets(t.DeployTo, id)
	cmd.Stdin = strings.NewReader(hostcmd.SecretsFile(values))
	if _, err := run(ctx, t, cmd); err != nil {
		return fmt.Errorf("write secrets: %s", e.mask(err.Error()))
	}
	return nil
}
