package ssh

import (
	"testing"

	"github.com/plat-sh/plat/platform"
)

func TestShellquote(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plain words", []string{"tar", "-xzf", "-"}, `tar -xzf -`},
		{"paths and flags", []string{"ls", "/srv/app/releases/20240101.1", "--color=never"}, `ls /srv/app/releases/20240101.1 '--color=never'`},
		{"empty word", []string{"printf", ""}, `printf ''`},
		{"spaces", []string{"echo", "a b"}, `echo 'a b'`},
		{"single quote", []string{"echo", "it's"}, `echo 'it'\''s'`},
		{"only a quote", []string{"'"}, `''\'''`},
		{"dollar and backtick", []string{"echo", "$HOME `id`"}, "echo '$HOME `id`'"},
		{"semicolon and pipe", []string{"echo", "a; rm -rf / | cat"}, `echo 'a; rm -rf / | cat'`},
		{"glob", []string{"ls", "*.go", "a?", "[x]"}, `ls '*.go' 'a?' '[x]'`},
		{"tilde", []string{"cd", "~root"}, `cd '~root'`},
		{"assignment-looking word", []string{"A=B", "x"}, `'A=B' x`},
		{"newline", []string{"printf", "a\nb"}, "printf 'a\nb'"},
		{"double quotes and backslash", []string{`a"b\c`}, `'a"b\c'`},
		{"safe punctuation", []string{"user@host:1,2+3%"}, `user@host:1,2+3%`},
		{"unicode", []string{"écho"}, `'écho'`},
		{"no args", nil, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shellquote(tt.args); got != tt.want {
				t.Errorf("shellquote(%q) = %s, want %s", tt.args, got, tt.want)
			}
		})
	}
}

func TestRemoteCommand(t *testing.T) {
	tests := []struct {
		name   string
		cmd    platform.Command
		become string
		want   string
	}{
		{"argv", platform.Command{Args: []string{"echo", "hi there"}}, "",
			pidPrefix + `exec echo 'hi there'`},
		{"dir", platform.Command{Args: []string{"pwd"}, Dir: "/srv/my app"}, "",
			pidPrefix + `cd -- '/srv/my app' && exec pwd`},
		{"env sorted", platform.Command{Args: []string{"run"}, Env: map[string]string{"B": "2", "A": "x y"}}, "",
			pidPrefix + `exec env 'A=x y' 'B=2' run`},
		{"dir and env", platform.Command{Args: []string{"run"}, Dir: "/d", Env: map[string]string{"K": "it's"}}, "",
			pidPrefix + `cd -- /d && exec env 'K=it'\''s' run`},
		{"become", platform.Command{Args: []string{"id", "-un"}}, "deploy",
			pidPrefix + `exec sudo -n -u deploy -- id -un`},
		{"become with dir and env", platform.Command{Args: []string{"ls"}, Dir: "/a b", Env: map[string]string{"X": "1"}}, "root",
			pidPrefix + `exec sudo -n -u root -- sh -c 'cd -- "$1" && shift && exec "$@"' sh '/a b' env 'X=1' ls`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := remoteCommand(&tt.cmd, tt.become)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("remoteCommand = %s\n                 want %s", got, tt.want)
			}
		})
	}

	if got, want := killCommand(42, ""), `kill -KILL -- -42`; got != want {
		t.Errorf("killCommand = %s, want %s", got, want)
	}
	if got, want := killCommand(42, "app"), `sudo -n -u app -- kill -KILL -- -42`; got != want {
		t.Errorf("killCommand with become = %s, want %s", got, want)
	}

	for _, bad := range []platform.Command{
		{},
		{Args: []string{"x"}, Env: map[string]string{"A B": "1"}},
		{Args: []string{"x"}, Env: map[string]string{"1A": "1"}},
		{Args: []string{"x"}, Env: map[string]string{"A=B": "1"}},
	} {
		if got, err := remoteCommand(&bad, ""); err == nil {
			t.Errorf("remoteCommand(%+v) = %s, want an error", bad, got)
		}
	}
}
