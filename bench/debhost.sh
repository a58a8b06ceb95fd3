# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034,SC2154
# (SC2034/SC2154: variables shared with the sourcing script)
#
# bench/debhost.sh - build a Linux-VServer host from real Debian 12 packages,
# for `bench-audit.sh --debian` (sourced after lib.sh; see bench/README.md).
#
#   debian_host GUESTS   download (or reuse) the .deb files, make the ext4
#                        image, and build GUESTS guests below $root the way an
#                        administrator makes them: the first extracted with
#                        `dpkg-deb -x`, the others copied from it with `cp -a`,
#                        then some given extra packages or newer versions,
#                        then the first two thirds unified the 2.4 way
#                        ($deb_unify guests if set; 0 or 1: none).
#                        Writes key=value statistics to $work/mktree.out (the
#                        keys mktree prints, so stat_of works) and sets gen_secs.
#
# Packages: $deb_cache (default bench/out/debs) holds the downloads, made with
# `apt-get download` (an .deb already in /var/cache/apt/archives under the
# same name is copied instead).  Older versions of the packages in
# DEB_UPGRADE (the previous version apt-cache knows) go to $deb_cache/old:
# the first guest is made from them, and the "upgraded" guests get the
# current ones extracted over them, as an upgrade would leave them.

# The base: a debootstrap --variant=minbase system of Debian 12, plus perl,
# python3 (with pip, setuptools, requests, yaml) and what a small server has
# (ssh, cron, rsyslog, man, curl, gnupg, iptables, bind9-host, terminfo, ...).
DEB_BASE="adduser apt base-files base-passwd bash bsdutils coreutils dash debconf
debian-archive-keyring debianutils diffutils dpkg e2fsprogs findutils gcc-12-base gpgv
grep gzip hostname init-system-helpers libacl1 libapt-pkg6.0 libattr1 libaudit-common
libaudit1 libblkid1 libbz2-1.0 libc-bin libc6 libcap-ng0 libcap2 libcom-err2 libcrypt1
libdb5.3 libdebconfclient0 libext2fs2 libffi8 libgcc-s1 libgcrypt20 libgmp10 libgnutls30
libgpg-error0 libhogweed6 libidn2-0 liblz4-1 liblzma5 libmd0 libmount1 libnettle8
libp11-kit0 libpam-modules libpam-modules-bin libpam-runtime libpam0g libpcre2-8-0
libseccomp2 libselinux1 libsemanage-common libsemanage2 libsepol2 libsmartcols1 libss2
libssl3 libstdc++6 libsystemd0 libtasn1-6 libtinfo6 libudev1 libunistring2 libxxhash0
libzstd1 login logsave mawk mount ncurses-base ncurses-bin passwd perl-base sed
sysvinit-utils tar tzdata usr-is-merged util-linux util-linux-extra zlib1g
perl perl-modules-5.36 libperl5.36 libgdbm6 libgdbm-compat4 python3 python3-minimal
python3.11 python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libexpat1
libncursesw6 libreadline8 readline-common libsqlite3-0 media-types libuuid1 libnsl2
libtirpc3 libtirpc-common netbase
openssl ca-certificates procps libproc2-0 iproute2 iputils-ping less vim-tiny vim-common
nano man-db manpages groff-base libpipeline1 cron logrotate rsyslog openssh-client
openssh-server openssh-sftp-server libedit2 libbsd0 libkrb5-3 libgssapi-krb5-2
libk5crypto3 libkrb5support0 libkeyutils1 libwrap0 ucf sudo curl libcurl4 libnghttp2-14
librtmp1 libssh2-1 libpsl5 libldap-2.5-0 libsasl2-2 libsasl2-modules-db libbrotli1 wget
locales bzip2 xz-utils file libmagic1 libmagic-mgc ncurses-term
python3-pkg-resources python3-setuptools python3-pip python3-wheel python3-distutils
python3-lib2to3 python3-yaml libyaml-0-2 python3-requests python3-urllib3 python3-certifi
python3-chardet python3-idna python3-six
gnupg gpg gpg-agent dirmngr gnupg-utils gpgconf gpgsm gpg-wks-client gpg-wks-server
pinentry-curses libassuan0 libksba8 libnpth0 libldap-common
iptables libip4tc2 libip6tc2 libxtables12 libnftnl11 libnetfilter-conntrack3 libnfnetlink0
bind9-host bind9-dnsutils bind9-libs libuv1 libmaxminddb0 libjson-c5 liblmdb0 libfstrm0
libprotobuf-c1"
# Extra packages by role: the web guests, the mail guest, the build guest.
DEB_WEB="apache2 apache2-bin apache2-data apache2-utils libapr1 libaprutil1
libaprutil1-dbd-sqlite3 libaprutil1-ldap liblua5.3-0 libjansson4 ssl-cert"
DEB_MAIL="postfix libicu72 dovecot-core dovecot-imapd libexttextcat-2.0-0 libexttextcat-data"
DEB_DEV="git git-man liberror-perl"
# Packages Debian 12 has in two versions (point release and security or
# updates): the first guest gets the older one, the upgraded guests the newer.
DEB_UPGRADE="tzdata openssl libssl3 perl-base libc6 libc-bin openssh-client openssh-server
openssh-sftp-server curl libcurl4 libsystemd0 libudev1"

deb_cache=${deb_cache:-}

# deb_fetch DIR SPEC...: .deb files of SPEC (pkg or pkg=version) into DIR.
deb_fetch() {
	local dir=$1; shift
	mkdir -p "$dir"
	(
		cd "$dir" || exit 1
		# apt-get download runs as _apt where it can; let it write here.
		chmod 0777 . 2>/dev/null || true
		apt-get download -q "$@" >"$work/apt-download.log" 2>&1
	) || {
		say "apt-get download failed (see below); using what $dir already has"
		tail -n 3 "$work/apt-download.log" >&2
	}
}

# deb_file DIR PKG: the .deb of PKG in DIR (the highest version there).
deb_file() {
	local f
	f=$(find "$1" -maxdepth 1 -name "${2}_*.deb" | sort -V | tail -n 1)
	[[ -n $f ]] || die "no .deb of $2 in $1 (download failed?)"
	printf '%s\n' "$f"
}

# extract GUEST_DIR DEBDIR PKG...: dpkg-deb -x each package into GUEST_DIR.
extract() {
	local g=$1 dir=$2 p f; shift 2
	for p in "$@"; do
		f=$(deb_file "$dir" "$p") || exit 2
		dpkg-deb -x "$f" "$g" || die "dpkg-deb -x $p failed"
	done
}

# older_version PKG: the version below the highest that apt knows (empty if
# it knows only one).
older_version() {
	apt-cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		sort -u -V | tail -n 2 | awk 'NR == 1 && n == 0 { v = $0 } { n++ } END { if (n == 2) print v }'
}

debian_host() {
	local guests=$1 t0 t1 i g p v names=() unified_guests
	local gn=(web01 mail01 db01 dns01 build01 proxy01 shell01 ftp01)
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	command -v python3 >/dev/null || die "python3 not found (unification step)"
	[[ -n $deb_cache ]] || deb_cache=$srcdir/out/debs
	mkdir -p "$deb_cache/old"

	say "fetching the Debian 12 packages into $deb_cache"
	local all=() olds=()
	# shellcheck disable=SC2206  # word lists
	all=($DEB_BASE $DEB_WEB $DEB_MAIL $DEB_DEV)
	for p in "${all[@]}"; do
		# a file of the same name in apt's own cache: copy, do not download
		if [[ -z $(find "$deb_cache" -maxdepth 1 -name "${p}_*.deb" -print -quit) ]]; then
			for v in /var/cache/apt/archives/"${p}"_*.deb; do
				[[ -f $v ]] && cp -n "$v" "$deb_cache"/
			done
		fi
	done
	local missing=()
	for p in "${all[@]}"; do
		[[ -n $(find "$deb_cache" -maxdepth 1 -name "${p}_*.deb" -print -quit) ]] || missing+=("$p")
	done
	(( ${#missing[@]} == 0 )) || deb_fetch "$deb_cache" "${missing[@]}"
	for p in $DEB_UPGRADE; do
		[[ -n $(find "$deb_cache/old" -maxdepth 1 -name "${p}_*.deb" -print -quit) ]] && continue
		v=$(older_version "$p")
		[[ -n $v ]] && olds+=("$p=$v")
	done
	(( ${#olds[@]} == 0 )) || deb_fetch "$deb_cache/old" "${olds[@]}"

	make_image $(( 8 << 30 )) 600000

	now_us t0
	for (( i = 0; i < guests; i++ )); do
		names+=("${gn[i]:-$(printf 'vs%03d' $(( i + 1 )))}")
	done
	# 1. The first guest: the base, with the older versions where there are.
	say "guest ${names[0]}: dpkg-deb -x of $(wc -w <<<"$DEB_BASE") packages"
	g=$root/${names[0]}
	mkdir "$g"
	# shellcheck disable=SC2086
	extract "$g" "$deb_cache" $DEB_BASE
	for p in $DEB_UPGRADE; do
		[[ -n $(find "$deb_cache/old" -maxdepth 1 -name "${p}_*.deb" -print -quit) ]] &&
			extract "$g" "$deb_cache/old" "$p"
	done
	mkdir -p "$g"/{home,root,tmp,var/log,var/mail,srv,proc,dev,sys}
	# 2. The others: cp -a of the first.
	for (( i = 1; i < guests; i++ )); do
		say "guest ${names[i]}: cp -a ${names[0]}"
		cp -a "$g" "$root/${names[i]}"
	done
	# 3. Roles and upgrades (extra packages are extracted over the copy).
	for (( i = 0; i < guests; i++ )); do
		local gd=$root/${names[i]} extra=
		case $(( i % 4 )) in
		0) extra=$DEB_WEB ;;
		1) extra=$DEB_MAIL ;;
		2) extra= ;;
		3) extra=$DEB_DEV ;;
		esac
		# shellcheck disable=SC2086
		[[ -z $extra ]] || extract "$gd" "$deb_cache" $extra
		# every second guest is upgraded to the current versions
		if (( i % 2 == 1 )); then
			# shellcheck disable=SC2086
			extract "$gd" "$deb_cache" $DEB_UPGRADE
		fi
		# private files: hostname, logs, a mailbox, a home directory
		printf '%s\n' "${names[i]}" >"$gd/etc/hostname"
		printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "${names[i]}" >"$gd/etc/hosts"
		printf 'Welcome to %s\n' "${names[i]}" >"$gd/etc/motd"
		for p in syslog auth.log daemon.log kern.log; do
			printf '%s %s started\n' "$(date -u +%FT%T)" "${names[i]}" >"$gd/var/log/$p"
		done
		mkdir -p "$gd/home/admin/Maildir/"{cur,new,tmp}
		for (( v = 0; v < 50; v++ )); do
			printf 'Subject: %d\n\nmail %d on %s\n' "$v" "$v" "${names[i]}" >"$gd/home/admin/Maildir/cur/$v.${names[i]}:2,S"
		done
	done
	# 4. Unify the first two thirds of the guests, as 2.4 vunify does: a file
	# below usr/ identical to the first guest's (content, size, mode, owner)
	# becomes a hard link to it; then each such inode gets chattr +t, then +i.
	unified_guests=${deb_unify:-$(( (guests * 2 + 2) / 3 ))}
	(( unified_guests <= guests )) || unified_guests=$guests
	say "unifying ${names[*]:0:unified_guests} (usr/, identical files) and flagging the shared inodes +t, then +i"
	: >"$work/unified.list"
	echo "unified_inodes=0" >"$work/unify.out"
	echo "unified_linked=0" >>"$work/unify.out"
	(( unified_guests < 2 )) ||
	python3 - "$root" "$work/unified.list" "${names[@]:0:unified_guests}" <<'PY' >"$work/unify.out" ||
import filecmp, os, stat, sys
root, out, ref, others = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
masters = {}                     # ref inode -> a path of it
names = 0
for dirpath, dirs, files in os.walk(os.path.join(root, ref, "usr")):
    rel = os.path.relpath(dirpath, os.path.join(root, ref))
    for f in files:
        rp = os.path.join(dirpath, f)
        rs = os.lstat(rp)
        if not stat.S_ISREG(rs.st_mode) or rs.st_size == 0:
            continue
        linked = False
        for o in others:
            op = os.path.join(root, o, rel, f)
            try:
                os_ = os.lstat(op)
            except FileNotFoundError:
                continue
            if (not stat.S_ISREG(os_.st_mode) or os_.st_ino == rs.st_ino
                    or os_.st_size != rs.st_size or os_.st_mode != rs.st_mode
                    or os_.st_uid != rs.st_uid or os_.st_gid != rs.st_gid
                    or not filecmp.cmp(rp, op, shallow=False)):
                continue
            tmp = op + ".vunify~"
            os.link(rp, tmp)
            os.rename(tmp, op)
            names += 1
            linked = True
        if linked:
            masters.setdefault(rs.st_ino, rp)
with open(out, "wb") as fh:
    for p in masters.values():
        fh.write(os.fsencode(p) + b"\0")
print("unified_inodes=%d" % len(masters))
print("unified_linked=%d" % names)
PY
		die "unification failed"
	# Flags last (a link() to an immutable inode fails): +t, then +i.
	xargs -0 -r -n 256 chattr +t <"$work/unified.list" || die "chattr +t failed"
	xargs -0 -r -n 256 chattr +i <"$work/unified.list" || die "chattr +i failed"
	# +t only (2.4 notail, no unification): 3 private files per guest.
	local notail=0
	for (( i = 0; i < guests; i++ )); do
		for p in etc/hostname etc/hosts etc/motd; do
			chattr +t "$root/${names[i]}/$p" && notail=$(( notail + 1 ))
		done
	done
	# ROOT gets the 2.4 barrier.
	chmod 000 "$root"
	chattr +t "$root"
	sync
	now_us t1
	gen_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')

	{
		echo "guests=$guests"
		echo "unified_guests=$unified_guests"
		echo "entries=$(find "$root" -mindepth 1 | wc -l)"
		echo "files=$(find "$root" -mindepth 1 -type f | wc -l)"
		echo "dirs=$(find "$root" -mindepth 1 -type d | wc -l)"
		echo "symlinks=$(find "$root" -mindepth 1 -type l | wc -l)"
		echo "inodes=$(find "$root" -mindepth 1 -printf '%i\n' | sort -u | wc -l)"
		cat "$work/unify.out"
		# names of the unified inodes, counted in the tree (Debian's own hard
		# links, such as perl/perl5.36.0, included)
		echo "unified_names=$(xargs -0 -r stat -c %h <"$work/unified.list" | awk '{ s += $1 } END { print s + 0 }')"
		echo "notail_only=$notail"
		echo "debian_packages=$(wc -w <<<"$DEB_BASE $DEB_WEB $DEB_MAIL $DEB_DEV")"
	} >"$work/mktree.out"
	say "built in ${gen_secs}s: $(tr '\n' ' ' <"$work/mktree.out")"
}
