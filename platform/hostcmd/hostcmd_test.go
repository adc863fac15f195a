package hostcmd

import (
	"reflect"
	"testing"
	"time"
)

func TestCommandsPassValuesAsArguments(t *testing.T) {
	evil := `/srv/app; rm -rf / #$(reboot)`
	cmd := Switch(evil, "r1")
	if cmd.Args[0] != "sh" || cmd.Args[1] != "-c" || cmd.Args[2] != switchScript {
		t.Fatalf("argv = %q", cmd.Args[:3])
	}
	if !reflect.DeepEqual(cmd.Args[3:], []string{"plat", evil, "r1"}) {
		t.Errorf("arguments = %q", cmd.Args[3:])
	}
	stop := Stop("/d", 1500*time.Millisecond, "", "web")
	if !reflect.DeepEqual(stop.Args[3:], []string{"plat", "/d", "15", "", "web"}) {
		t.Errorf("stop arguments = %q", stop.Args[3:])
	}
	start := Start("/d", "r2", ".new", map[string]string{"worker": "python3 w.py", "web": "python3 app.py"})
	if !reflect.DeepEqual(start.Args[3:], []string{"plat", "/d", "r2", ".new", "web", "python3 app.py", "worker", "python3 w.py"}) {
		t.Errorf("start arguments (sorted by type) = %q", start.Args[3:])
	}
	if got := RemoveList([]string{"a b", "c"}); got != "a b\x00c\x00" {
		t.Errorf("RemoveList = %q", got)
	}
	if got := Linked([]string{"log/", "tmp/pids"}, []string{"config/db.yml"}); !reflect.DeepEqual(got, []string{"d:log", "d:tmp/pids", "f:config/db.yml"}) {
		t.Errorf("Linked = %q", got)
	}
}

func TestParseState(t *testing.T) {
	out := "current r3\nreleases r1 r2 r3\n--- history\n{\"event\":\"deploy\"}\n--- manifest\nf 0644 1 abc a\n"
	st := ParseState(out)
	if st.Current != "r3" || !reflect.DeepEqual(st.Releases, []string{"r1", "r2", "r3"}) || len(st.History) != 1 || st.Manifest != "f 0644 1 abc a\n" {
		t.Errorf("ParseState = %+v", st)
	}
	empty := ParseState("current -\nreleases\n")
	if empty.Current != "" || len(empty.Releases) != 0 {
		t.Errorf("empty host = %+v", empty)
	}
}

func TestParseProcessesAndKV(t *testing.T) {
	ps := ParseProcesses("web 123 running\nworker 456 dead\n")
	if len(ps) != 2 || !ps[0].Running || ps[1].Running || ps[1].PID != 456 {
		t.Errorf("ParseProcesses = %+v", ps)
	}
	kv := ParseKV("owner=a@b\nmessage=x=y\n")
	if kv["owner"] != "a@b" || kv["message"] != "x=y" {
		t.Errorf("ParseKV = %v", kv)
	}
}
