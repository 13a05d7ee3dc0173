"""How to read each picture, one line: under it in report.md and report.html."""

CAPTIONS = {
    "k_choice.png": "Choosing k: each candidate's Calinski-Harabasz score (line) and stability "
                    "(dashed, the share of refits on resamples that agree); the rule takes the "
                    "best score among the filled points, the stable candidates without a tiny "
                    "cluster; a close second is worth a look (-k N).",
    "umatrix.png": "U-matrix: each unit's mean distance to its neighbours; dark ridges "
                   "separate groups of similar rows, light areas hold them; red lines are the "
                   "borders between clusters; on small data each row's name sits on its unit.",
    "hits.png": "Hits: how many rows each unit holds; empty units sit between groups.",
    "clusters.png": "Clusters: the units grouped into clusters (a row's cluster is its unit's); "
                    "the legend gives each cluster's size and the features that set it apart; "
                    "pale units hold no row.",
    "components.png": "Component planes: one feature per panel, its value on each unit in "
                      "original units, coloured over the data's range (--color-scale); panels "
                      "that look alike are correlated features.",
    "projection.png": "Projection: every row (5,000 at most) on the two directions of "
                      "largest spread, coloured by cluster, crosses at the centres (for a map, "
                      "grey dots and lines are its units and their neighbours); clusters that "
                      "overlap here may be apart in other directions.",
    "profiles.png": "Profiles: each cluster's mean minus the other rows' mean, per feature, in "
                    "SDs of the feature (the report's figures); red above the rest, blue "
                    "below: a row of it says what a cluster is.",
}
