#!/bin/sh
# Writes the factory of fleet PBX number INDEX (2..20, lab.sh up --pbx N) into OUT: the lab PBX's
# factory (lab/factory/pbx), varied as real fleets vary:
#   - other extension numbers: 5<INDEX><1..3> (pbx-02: 5021-5023, pbx-20: 5201-5203);
#   - every third PBX keeps its phones in an #include'd file (pjsip_phones.conf);
#   - every second PBX has a second trunk to the carrier, "backup", for international calls.
set -eu
index=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
[ "$index" -ge 2 ] && [ "$index" -le 20 ] || { echo "fleet.sh: INDEX must be 2..20" >&2; exit 2; }
base=$((5000 + index * 10))
rm -rf "$out"
mkdir -p "$out"
cp -r "$here/pbx/." "$out/"
conf=$out/asterisk
for k in 1 2 3; do
  sed -i "s/100$k/$((base + k))/g" "$conf/pjsip.conf" "$conf/extensions.conf"
done
sed -i 's/^exten => _1XXX,/exten => _5XXX,/' "$conf/extensions.conf"
if [ $((index % 3)) -eq 0 ]; then
  # The phones (their template, endpoints, auths, aors) move to an included file.
  awk -v phones="$conf/pjsip_phones.conf" '
    /^\[phone-tpl\]\(!\)/ { moving = 1; print "#include pjsip_phones.conf"; print "" }
    /^; Left over from the installation/ { moving = 0 }
    moving { print > phones; next }
    { print }' "$conf/pjsip.conf" > "$conf/pjsip.conf.new"
  mv "$conf/pjsip.conf.new" "$conf/pjsip.conf"
fi
if [ $((index % 2)) -eq 0 ]; then
  cat >> "$conf/pjsip.conf" <<'TRUNK'

; A second trunk to the carrier, for international calls (least-cost routing).
[backup]
type = endpoint
context = from-carrier
disallow = all
allow = ulaw,alaw
direct_media = no
aors = backup

[backup]
type = aor
contact = sip:198.51.100.20:5060
TRUNK
  sed -i 's/^; Outbound: every number goes to the trunk, unfiltered.$/&\nexten => _00X.,1,Dial(PJSIP\/${EXTEN}@backup)\n same => n,Hangup()/' "$conf/extensions.conf"
fi
