#!/usr/bin/python3
"""gen_x86_golden.py -- writes tests/x86/golden.txt: for every row of the encoder table
(src/x86/enc_*.def, operand forms from src/x86/forms.def) many operand combinations, each
assembled by GNU as (Intel syntax) into the bytes tests/test_x86_enc.c must reproduce.
Run from anywhere: /usr/bin/python3 tools/gen_x86_golden.py  (stdlib only)."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
X86 = os.path.join(ROOT, "src", "x86")
OUT = os.path.join(ROOT, "tests", "x86", "golden.txt")

G64 = "rax rcx rdx rbx rsp rbp rsi rdi r8 r9 r10 r11 r12 r13 r14 r15".split()
G32 = "eax ecx edx ebx esp ebp esi edi r8d r9d r10d r11d r12d r13d r14d r15d".split()
G16 = "ax cx dx bx sp bp si di r8w r9w r10w r11w r12w r13w r14w r15w".split()
G8 = "al cl dl bl spl bpl sil dil r8b r9b r10b r11b r12b r13b r14b r15b".split()
CC = "o no b ae e ne be a s ns p np l ge le g".split()
VEC = ["xmm", "ymm", "zmm"]
PTR = {4: "dword", 8: "qword", 16: "xmmword", 32: "ymmword", 64: "zmmword"}


def rows_of(path):
    out = []
    for line in open(path):
        m = re.match(r"\s*X\((.*)\)\s*$", line)
        if m:
            out.append([c.strip().strip('"') for c in m.group(1).split(",")])
    return out


FORMS = {r[0]: r[1:] for r in rows_of(os.path.join(X86, "forms.def"))}
ROWS = []
for f in ("enc_legacy.def", "enc_vex.def", "enc_evex.def"):
    ROWS += rows_of(os.path.join(X86, f))

VEC16 = [0, 1, 7, 8, 9, 15, 3, 12, 5, 14]
VEC32 = [0, 7, 8, 15, 16, 23, 24, 31, 17, 30, 1, 9]
GPRS = [0, 4, 5, 12, 13, 1, 8, 15, 3, 6, 7, 9, 10, 11, 14, 2]
KS = [1, 0, 7, 2, 5, 3, 6, 4]

# (base, index, scale, disp): rsp/r12 bases need a SIB, rbp/r13 need a disp8, r12 index is legal
MEMS = [(0, None, 1, 0), (4, None, 1, 0), (5, None, 1, 0), (12, None, 1, 0), (13, None, 1, 0),
        (15, None, 1, 8), (5, None, 1, 0x7F), (4, None, 1, -0x80), (0, None, 1, 0x80),
        (12, None, 1, 0x12345678), (3, None, 1, -0x81), (0, 3, 1, 0), (4, 5, 2, 0x10),
        (13, 12, 4, 0), (5, 15, 8, -0x100), (12, 0, 8, 0x40), (9, 13, 2, 0x7FFFFFFF),
        (None, 0, 4, 0x10), (None, 14, 8, -0x20), ("rip", None, 1, 0x100), ("rip", None, 1, -4)]


# the corner cases again, shorter, for the many vector rows
MEMS_V = [MEMS[i] for i in (1, 2, 3, 4, 6, 7, 8, 11, 13, 15, 17, 19)]


def mem_text(base, index, scale, disp):
    if base == "rip":
        parts = ["rip"]
    else:
        parts = [] if base is None else [G64[base]]
        if index is not None:
            parts.append("%s*%d" % (G64[index], scale))
    s = "+".join(parts)
    if disp or not parts:
        s += ("-0x%x" % -disp) if disp < 0 else ("+0x%x" % disp)
    return "[" + s + "]"


def cls_name(c, L):
    return {"V": L, "H": max(L - 1, 0), "X": 0}.get(c)


def reg_text(c, L, n):
    if c in "VHX":
        return "%s%d" % (VEC[cls_name(c, L)], n)
    if c == "G":
        return G64[n]
    if c == "D":
        return G32[n]
    if c == "W":
        return G16[n]
    if c == "B":
        return G8[n]
    if c == "K":
        return "k%d" % n
    raise ValueError(c)


def pool(c, enc):
    if c in "VHX":
        return VEC32 if enc == "EVEX" else VEC16
    if c == "K":
        return KS
    return GPRS


def disp8_n(row, L, bcast):
    tup, w = row[11], row[6]
    vl, esz = 16 << L, 8 if w == "W1" else 4
    return {"FV": esz if bcast else vl, "FVM": vl, "HV": esz if bcast else vl // 2,
            "T1S": esz, "T4": 4 * esz, "HVM": vl // 2, "QVM": vl // 4, "OVM": vl // 8}.get(tup, 1)


def imms(row, kind):
    rid, form = row[0], row[8]
    if kind == "I8":
        if rid in ("shl_i8", "shr_i8", "sar_i8"):
            return [3, 63]
        if form == "RMG_I8":
            return [-0x80, -1, 0x7F]
        if rid in ("cmpps", "cmppd", "cmpss", "cmpsd"):
            return [0, 3, 7]
        return [0, 1, 0x1B, 0xFF]
    if kind == "I32":
        if form == "O_D_I32":
            return [0x12345678, 0xFFFFFFFF, 0]
        return [0x12345678, -0x80000000, 0x7FFFFFFF, -0x1000]
    if kind == "I64":
        return [0x123456789ABCDEF0, 1, -1]
    return [None]


def cases_for(row):
    rid, mnem, enc, pfx, mp, opc, w, l, form, ext, feat, tup = row
    order, rc, vc, mc, mk, imm = FORMS[form]
    if l in ("LV", "LY"):
        Ls = [0, 1, 2] if enc == "EVEX" else [0, 1]
        if l == "LY":
            Ls = Ls[1:]
    else:
        Ls = [{"L128": 0, "L256": 1, "L512": 2, "LIG": 0}[l]]
    out = []  # (asm, prefix)
    if form in ("NP", "NP_MODRM"):
        return [(mnem, "")]
    if form in ("REL8", "REL32", "JCC8", "JCC32"):
        names = [mnem + c for c in CC] if form.startswith("JCC") else [mnem]
        tg = [0x10, -0x7E, 0x81] if form.endswith("8") else [0x100, -0x1000, 0x12345678]
        pre = "{disp32} " if form in ("REL32", "JCC32") and mnem == "jmp" or form == "JCC32" else ""
        for i, nm in enumerate(names):
            for t in tg[: (3 if len(names) == 1 else 1 + i % 2)]:
                out.append(("%s .%s0x%x" % (nm, "-" if t < 0 else "+", abs(t)), pre))
        return out
    names = [mnem + c for c in CC] if form == "G_RMG_CC" else [mnem]

    def slots(j, L):
        """register numbers for slots r, v, m, s in case j"""
        res = {}
        for i, (s, c) in enumerate((("r", rc), ("v", vc), ("m", mc), ("s", "V"))):
            if c == "N":
                continue
            p = pool(c, enc) if s != "s" else VEC16
            res[s] = p[(j + 3 * i) % len(p)]
        return res

    def render(L, regs, memspec, immv, deco):
        """deco: dict mask, zero, bcast"""
        ops = []
        for ch in order:
            if ch == "r":
                ops.append(reg_text(rc, L, regs["r"]))
            elif ch == "v":
                ops.append(reg_text(vc, L, regs["v"]))
            elif ch == "s":
                ops.append(reg_text("V", L, regs["s"]))
            elif ch == "0":
                ops.append("xmm0")
            elif ch == "i":
                ops.append(("-0x%x" % -immv) if immv < 0 else ("0x%x" % immv))
            elif ch == "m":
                if memspec is None:
                    ops.append(reg_text(mc, L, regs["m"]))
                else:
                    t = mem_text(*memspec)
                    if deco.get("bcast"):
                        esz = 8 if w == "W1" else 4
                        t = "%s ptr %s{1to%d}" % (PTR[esz], t, deco["bcast"])
                    elif form == "RH_RM" or (enc == "EVEX" and mc == "V" and l in ("LV", "LY")):
                        t = "%s ptr %s" % (PTR[16 << L], t)
                    elif mc == "G" or form == "M":
                        t = ("qword ptr " if mc == "G" else "byte ptr ") + t
                    elif mc in "BW":
                        t = ("byte ptr " if mc == "B" else "word ptr ") + t
                    ops.append(t)
        if deco.get("mask"):
            ops[0] += "{k%d}" % deco["mask"] + ("{z}" if deco.get("zero") else "")
        return ", ".join(ops)

    imm_list = imms(row, imm)
    for nm in names:
        for L in Ls:
            n_reg = (8 if L == Ls[0] else 3) if nm == mnem else 2
            if mk in ("R", "RM", "O"):
                for j in range(n_reg):
                    regs = slots(j, L)
                    if form in ("RMG_I32",) and regs["m"] == 0 and opc in ("0x81", "0xF7"):
                        continue
                    iv = imm_list[j % len(imm_list)]
                    out.append((nm + " " + render(L, regs, None, iv, {}), "{load} " if order[0] == "r" else ""))
            if mk in ("M", "RM") and not (form in ("X_RMG", "RMG_X") and mnem in ("movq", "vmovq")):
                full = MEMS if mc in "GDN" else MEMS_V
                mems = (full if L == Ls[0] else full[1::4]) if nm == mnem else full[::7]
                for j, ms in enumerate(mems):
                    regs = slots(j + 1, L)
                    iv = imm_list[j % len(imm_list)]
                    out.append((nm + " " + render(L, regs, ms, iv, {}), ""))
                if enc == "EVEX":
                    N = disp8_n(row, L, False)
                    for j, d in enumerate((N * 127, N * 128, -N * 128, -N * 129, N + 4)[: 5 if L == Ls[-1] else 2]):
                        regs = slots(j + 2, L)
                        out.append((nm + " " + render(L, regs, ((0, 13, 5)[j % 3], None, 1, d), imm_list[0], {}), ""))
                    if tup in ("FV", "HV"):
                        esz = 8 if w == "W1" else 4
                        nb = (16 << L) // esz // (2 if tup == "HV" else 1)
                        for j, d in enumerate((esz * 127, esz * 128, 0, -esz)[: 4 if L == Ls[-1] else 2]):
                            regs = slots(j + 3, L)
                            out.append((nm + " " + render(L, regs, (j % 16, None, 1, d), imm_list[0], {"bcast": nb}), ""))
            if enc == "EVEX" and nm == mnem and form not in ("R_D", "R_G") or (enc == "EVEX" and form in ("R_D", "R_G")):
                dest_is_mem = order[0] == "m" and mk == "M"
                for j, k in enumerate((1, 2, 7)[: 3 if L == Ls[-1] else 1]):
                    regs = slots(j + 4, L)
                    ms = MEMS[(j * 5) % len(MEMS)] if (dest_is_mem or (mk == "RM" and j == 2)) else None
                    if ms is None and mk == "M":
                        ms = MEMS[j]
                    # a memory destination takes merging masks only
                    zero = (j != 1) and rc != "K" and not (ms is not None and order[0] == "m")
                    out.append((nm + " " + render(L, regs, ms, imm_list[0], {"mask": k, "zero": zero}),
                                "{load} " if ms is None and order[0] == "r" else ""))
    return out


def assemble(cases):
    """returns (bytes per case or None, error text per line)"""
    with tempfile.TemporaryDirectory() as td:
        s, o, b = (os.path.join(td, n) for n in ("a.s", "a.o", "a.bin"))
        with open(s, "w") as f:
            f.write(".intel_syntax noprefix\n")
            for i, (rid, asm, pre) in enumerate(cases):
                pre2 = "{evex} " if rid_enc[rid] == "EVEX" else ""
                f.write("c%d: %s%s%s\n" % (i, pre2, pre, asm))
            f.write("c%d:\n" % len(cases))
        r = subprocess.run(["as", "--64", "-o", o, s], capture_output=True, text=True)
        bad = {}
        for line in r.stderr.splitlines():
            m = re.match(r".*?:(\d+): (Error|Warning): (.*)", line)
            if m:
                bad[int(m.group(1)) - 2] = m.group(3)
        if r.returncode != 0 or bad:
            return None, bad
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", o, b], check=True)
        code = open(b, "rb").read()
        nm = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        pos = {}
        for line in nm.splitlines():
            a, _, name = line.split()
            if name.startswith("c"):
                pos[int(name[1:])] = int(a, 16)
        return [code[pos[i]:pos[i + 1]] for i in range(len(cases))], {}


rid_enc = {r[0]: r[2] for r in ROWS}


def main():
    cases = []
    for row in ROWS:
        for asm, pre in cases_for(row):
            cases.append((row[0], asm, pre))
    dropped = []
    for _ in range(4):
        res, bad = assemble(cases)
        if res is not None:
            break
        dropped += [(cases[i], e) for i, e in bad.items()]
        cases = [c for i, c in enumerate(cases) if i not in bad]
    else:
        sys.exit("gen_x86_golden: as keeps failing")
    for (rid, asm, _), e in dropped:
        print("dropped %s | %s: %s" % (rid, asm, e), file=sys.stderr)
    ver = subprocess.run(["as", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    seen = set()
    with open(OUT, "w") as f:
        f.write("# GENERATED by tools/gen_x86_golden.py from src/x86/*.def with %s -- do not edit\n" % ver)
        f.write("# row id | Intel-syntax operands as given to the assembler | expected bytes\n")
        for (rid, asm, _), code in zip(cases, res):
            if (rid, asm) in seen:
                continue
            seen.add((rid, asm))
            f.write("%s|%s|%s\n" % (rid, asm, code.hex(" ")))
    rows_hit = {c[0] for c in cases}
    missing = [r[0] for r in ROWS if r[0] not in rows_hit]
    print("gen_x86_golden: %d rows, %d cases, %d dropped, rows without cases: %s"
          % (len(ROWS), len(seen), len(dropped), " ".join(missing) or "none"), file=sys.stderr)


main()
