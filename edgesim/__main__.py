"""python -m edgesim"""

from edgesim.cli import main

main()
