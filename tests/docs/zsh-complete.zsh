# zsh -f zsh-complete.zsh FPATH_DIR BIN_DIR OUT LINE... — completes each LINE
# as a user would: typed into an interactive zsh on a pseudo-terminal
# (zsh/zpty) with compinit and FPATH_DIR first in fpath, then TAB.  Every
# candidate that compadd accepts (after matching what is typed) is appended
# to OUT under a "== LINE" header; "== end" closes the file.  The keys are
# read in order, so each TAB completes before the next line is typed: no
# sleeping, only a generous deadline for the whole run.
zmodload zsh/zpty || exit 2
zmodload zsh/datetime
fdir=$1 bdir=$2 out=$3
shift 3
zpty nm zsh -f -i
zpty -w nm "fpath=(${(q)fdir} \$fpath); PATH=${(q)bdir}:\$PATH; autoload -Uz compinit; compinit -u -D"
zpty -w nm "compadd() { local -a nm_m; builtin compadd -O nm_m \"\$@\"; print -rl -- \$nm_m >> ${(q)out}; builtin compadd \"\$@\" }"
for line in "$@"; do
  zpty -w nm "print -r -- ${(q):-== $line} >> ${(q)out}"
  zpty -n -w nm "$line"$'\t'
  zpty -n -w nm $'\C-a\C-k'
done
zpty -w nm "print -r -- '== end' >> ${(q)out}"
deadline=$((EPOCHSECONDS + 120))
while (( EPOCHSECONDS < deadline )); do
  [[ -f $out && "$(<$out)" == *$'\n== end'* ]] && break
  zpty -r -t nm junk 2>/dev/null || sleep 0.1
done
zpty -d nm
[[ "$(<$out)" == *$'\n== end'* ]]
