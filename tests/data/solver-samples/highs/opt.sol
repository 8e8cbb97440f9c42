Model status
Optimal

# Primal solution values
Feasible
Objective -3.5
Objective_bound -3.5
MIP_rel_gap 0
# Columns 3
x 3
y 2
z 0
# Rows 2
c1 5
c2 1

# Dual solution values
None

# Basis
HiGHS_basis_file v2
None
