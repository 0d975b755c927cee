# The command agent: serves the harness's requests read on stdin and
# answers on stdout (wire format: src/backend/agent/framing.ts). vm/guest/init runs it
# on a QEMU guest's second serial port; the SSH target runs it in a bash on
# the machine under test, over the connection's one session. POSIX sh plus
# "read -t" (busybox sh and bash have it; dash does not).
#
# agent_loop IDLE DIR [SHELL]: DIR holds its scratch files; scripts run
# with SHELL (default sh; bash over SSH, where sh may be dash, whose echo
# says "I/O error" where the others name the errno). Returns 0 when told
# @@QUIT, 1 after IDLE seconds without a request or at the end of input.
agent_loop() {
	idle=$1
	d=$2
	run=${3:-sh}
	echo "@@RP READY"
	# Two fast paths run on shell built-ins alone, no fork (a fork costs
	# milliseconds under TCG): "ID W FILE TEXT" writes one line to a file
	# (a ctl command), "ID R FILE" reads a text file; their output comes
	# back line by line ("@@RP O ID line", "@@RP E ID line", then
	# "@@RP END ID RC"). Anything else is "ID BASE64-SCRIPT", run by sh
	# with its output in base64.
	while read -r -t "$idle" id op file text; do
		[ "$id" = "@@QUIT" ] && return 0
		case $op in
		W)
			{ echo "$text" >"$file"; } 2>"$d/err"
			rc=$?
			;;
		R)
			rc=0
			{ while IFS= read -r l || [ -n "$l" ]; do echo "@@RP O $id $l"; done <"$file"; } 2>"$d/err" || rc=$?
			;;
		*)
			echo "$op" | base64 -d >"$d/cmd.sh"
			$run "$d/cmd.sh" </dev/null >"$d/out" 2>"$d/err"
			rc=$?
			out=$(base64 -w 0 <"$d/out")
			err=$(base64 -w 0 <"$d/err")
			echo "@@RP DONE $id $rc ${out:--} ${err:--}"
			continue
			;;
		esac
		while IFS= read -r l || [ -n "$l" ]; do echo "@@RP E $id $l"; done <"$d/err"
		echo "@@RP END $id $rc"
	done
	return 1
}
