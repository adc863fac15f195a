package hostcmd

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plat-sh/plat/platform"
)

func runStore(t *testing.T, cmd *platform.Command, stdin []byte) ([]byte, int) {
	t.Helper()
	c := exec.Command(cmd.Args[0], cmd.Args[1:]...)
	c.Stdin = bytes.NewReader(stdin)
	var errb bytes.Buffer
	c.Stderr = &errb
	out, err := c.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return out, ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out, 0
}

func TestTeamStoreScript(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	obj := "objects/ab/" + strings.Repeat("c", 62)
	files := map[string]string{obj: "content", obj + "x.age": "sealed", "envs/prod/r1.manifest": "m", "envs/prod/r1.json": "{}"}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()

	list := []byte(obj + "\nenvs/prod/r1.json\n")
	if out, code := runStore(t, StoreHave(root), list); code != 0 || string(out) != string(list) {
		t.Fatalf("have on an empty store: exit %d %q", code, out)
	}
	if out, code := runStore(t, StorePut(root), tb.Bytes()); code != 0 {
		t.Fatalf("put: exit %d %s", code, out)
	}
	if out, code := runStore(t, StoreHave(root), append(list, "envs/prod/r2.json\n"...)); code != 0 || string(out) != "envs/prod/r2.json\n" {
		t.Errorf("have after put: exit %d %q", code, out)
	}
	for name, body := range files {
		st, err := os.Stat(filepath.Join(root, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v (want 0600)", name, err)
			continue
		}
		if out, code := runStore(t, StoreCat(root, name), nil); code != 0 || string(out) != body {
			t.Errorf("cat %s: exit %d %q", name, code, out)
		}
	}
	if ents, _ := os.ReadDir(root); len(ents) != 2 {
		t.Errorf("put left more than objects/ and envs/ in the store: %v", ents)
	}
	if _, code := runStore(t, StoreCat(root, "envs/prod/r9.json"), nil); code != ExitStoreMissing {
		t.Errorf("cat of a missing file: exit %d", code)
	}
	if out, _ := runStore(t, StoreList(root, "prod"), nil); string(out) != "r1\n" {
		t.Errorf("list = %q", out)
	}
	if out, code := runStore(t, StoreList(root, "stage"), nil); code != 0 || len(out) != 0 {
		t.Errorf("list of an environment with nothing: exit %d %q", code, out)
	}
	out, code := runStore(t, StoreGet(root), []byte(obj+"\nobjects/ab/missing\n"))
	if code != 0 {
		t.Fatalf("get: exit %d", code)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	var got []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		got = append(got, h.Name)
	}
	if strings.Join(got, ",") != obj {
		t.Errorf("get sent %v, want only %s", got, obj)
	}
}
