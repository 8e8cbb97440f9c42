Model status
Time limit reached

# Primal solution values
Feasible
Objective 16.9999999999991
# Columns 50
x0 0
x1 0
x2 1
x3 1
x4 0
x5 1
x6 1
x7 0
x8 1
x9 0
x10 0
x11 0
x12 1
x13 1
x14 0
x15 1
x16 1
x17 1
x18 1
x19 0
x20 1
x21 0
x22 1
x23 1
x24 1
x25 0
x26 1
x27 1
x28 0
x29 1
x30 0
x31 1
x32 0
x33 1
x34 0
x35 0
x36 0
x37 0
x38 0
x39 0
up0 0
dn0 1.9999999999999
up1 0
dn1 0
up2 0.9999999999995
dn2 0
up3 3.9999999999999
dn3 0
up4 9.9999999999998
dn4 0
# Rows 5
c0 966.9999999999999
c1 1119
c2 1149.999999999999
c3 1072
c4 843.9999999999998

# Dual solution values
None

# Basis
HiGHS_basis_file v2
None
