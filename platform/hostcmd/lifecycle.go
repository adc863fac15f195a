package hostcmd

// Shell is the shell `plat console` opens: bash where the host has it,
// else sh; interactive on a terminal, else reading commands from stdin.
func Shell() []string {
	return []string{"sh", "-c", `i=; [ -t 0 ] && i=-i; if command -v bash >/dev/null 2>&1; then exec bash $i; fi; exec sh $i`}
}
