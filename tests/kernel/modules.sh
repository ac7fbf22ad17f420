# Sourced by fetch.sh and initramfs.sh.
# mod_closure MODDIR MODULE...: the files (relative to MODDIR) of the modules
# named and of all they depend on, from MODDIR/modules.dep, which lists each
# module's dependencies in full. Fails when a module is not there.
mod_closure() {
	_dep="$1/modules.dep"
	shift
	_files=""
	for _m in "$@"; do
		_f=$(awk -F: -v want="$(echo "$_m" | tr - _)" '{
			n = $1; sub(/.*\//, "", n); sub(/\.ko(\.(xz|gz|zst))?$/, "", n); gsub(/-/, "_", n)
			if (n == want) { print $1; k = split($2, d, " "); for (i = 1; i <= k; i++) print d[i]; found = 1 }
		} END { exit !found }' "$_dep") || { echo "no module $_m in $_dep" >&2; return 1; }
		_files="$_files $_f"
	done
	echo $_files | tr ' ' '\n' | sort -u
}
