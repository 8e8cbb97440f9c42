Model status
Time limit reached

# Primal solution values
Feasible
Objective 15
# Columns 50
x0 1
x1 0
x2 1
x3 1
x4 0
x5 0
x6 1
x7 1
x8 1
x9 1
x10 0
x11 0
x12 0
x13 1
x14 0
x15 1
x16 0
x17 1
x18 1
x19 0
x20 0
x21 1
x22 1
x23 0
x24 1
x25 1
x26 1
x27 0
x28 0
x29 0
x30 0
x31 0
x32 1
x33 0
x34 1
x35 1
x36 1
x37 0
x38 0
x39 1
up0 2
dn0 0
up1 0
dn1 8
up2 2
dn2 0
up3 2
dn3 0
up4 0
dn4 1
# Rows 5
c0 967
c1 1119
c2 1150
c3 1072
c4 844

# Dual solution values
None

# Basis
HiGHS_basis_file v2
None
