"""The site's voice is *tú*: the pattern that finds *usted* forms in Spanish text.

One pattern for everything a reader or a user reads: the built pages (tests/site/test_reading.py)
and the tool's own words, its messages, `./rb` and the README (tests/unit/test_voice.py).
"""

from __future__ import annotations

import re

# Formal imperatives and pronouns (the site says "tú"). Present subjunctives share most
# imperative forms ("que el nodo use", "un servidor configure"), so those count only where
# an instruction starts (a sentence, a clause after a colon, a parenthesis); the forms
# below them count anywhere.
_IMPERATIVES = (r"quite|ejecute|compruebe|elija|escriba|pulse|consulte|sustituya|ponga|haga|"
                r"instale|configure|edite|copie|abra|revise|utilice|use|añada|mire|vea|repita|"
                r"reinicie|cambie|pruebe|recuerde|lea|siga|vuelva|cree|borre|guarde|espere|"
                r"indique|interrumpa|defina|corrija|elimine|detenga|apague|verifique|"
                r"levante|vacíe")
_ENCLITICS = (r"asegúrese|fíjese|cámbiela|cámbielo|póngala|póngalo|hágalo|ejecútelo|compruébelo|"
              r"escríbalo|revíselos|revíselo|guárdelo|instálelo|úselo|vacíela|comuníquelo|"
              r"apáguelo|bórrelo|corríjalo|véase")
USTED = re.compile(
    rf"(?:^|[.,:;!?¡¿(]\s*)(?:{_IMPERATIVES})\b"
    rf"|\b(?:usted|ustedes|{_ENCLITICS}|tenga en cuenta|sus propios nodos|lo que quiere)\b",
    re.I,
)
# What marks a string as Spanish (the tool's code holds English strings too: states, keys, commands).
SPANISH = re.compile(r"[áéíóúñ¿¡«»]|\b(?:de|del|el|la|las|los|que|con|sin|por|para|una|es|en|y|o|no)\b", re.I)
