"""Company words across languages: what a declarant may write for the same part of a name.

A listed "Tulskiy Patronny Zavod" is declared as "Tula Cartridge Works", a "Konstruktorskoye
Byuro" as "Design Bureau" or "KB", a Chinese "Maoyi Youxian Gongsi" as "Trading Co., Ltd."
Each phrase below stands for one concept, in both directions, so that both names reduce to
the same tokens. The words are written as they read after transliteration to ASCII and
lower-casing (the form `alerts.names.analyse` compares), one entry per spelling that the
lists use; other case and gender endings of a Russian, Ukrainian or Belarusian word of seven
letters or more are found by its root (`alerts.names._root`). Abbreviations are marked, so
the evidence can say a match went through one. `BROADER` says which concept is a kind of
which ("commercial bank" of "bank"): such pairs agree a little less than the same concept.

Legal forms (LLC, OOO, A.S., S.A., GmbH, ...) are not here: rigour's organisation-type
database removes them. Words that only say "company" are dropped the same way, and so are
the few legal forms rigour does not know (the Turkish "anonim sirketi", the Persian "sahami
khass", "pvt").

Sources: the transliterated names and their English translations as OFAC, the EU and the UK
publish them side by side; Russian GOST abbreviations of enterprise types; Chinese enterprise
naming rules (行政区划 + 字号 + 行业 + 组织形式); Turkish and Persian trade-register usage.
"""

# concept: (phrases, abbreviations). A phrase is space-separated words.
COMPANY_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "plant": (
        (
            "zavod", "zavoda", "zavody", "plant", "plants", "works", "factory", "factories",
            "fabrika", "fabrikasi", "kombinat", "combine", "yard", "verf", "verfi", "karkhaneh",
            "karkhane", "karkhanejat", "gongchang", "usine", "fabrica", "werk", "werke",
        ),
        ("zd",),
    ),
    "design_bureau": (
        (
            "konstruktorskoye byuro", "konstruktorskoe byuro", "konstruktorskoe biuro",
            "konstruktorskogo byuro", "konstruktorskoye bureau", "design bureau",
            "designing bureau", "construction bureau",
        ),
        ("kb", "db"),
    ),
    "experimental_design_bureau": (
        (
            "opytnoye konstruktorskoye byuro", "opytnoe konstruktorskoe byuro",
            "opytno konstruktorskoye byuro", "opytno konstruktorskoe byuro",
            "experimental design bureau", "experimental designing bureau",
        ),
        ("okb", "edb"),
    ),
    "special_design_bureau": (
        (
            "spetsialnoye konstruktorskoye byuro", "spetsialnoe konstruktorskoe byuro",
            "special design bureau",
        ),
        ("skb", "sdb"),
    ),
    "central_design_bureau": (
        (
            "tsentralnoye konstruktorskoye byuro", "tsentralnoe konstruktorskoe byuro",
            "central design bureau",
        ),
        ("tskb", "ckb", "cdb"),
    ),
    "science_production_association": (
        (
            "nauchno proizvodstvennoye obyedineniye", "nauchno proizvodstvennoe obedinenie",
            "nauchno proizvodstvennoe obyedinenie", "nauchno proizvodstvennoye obedineniye",
            "scientific production association", "scientific and production association",
            "research and production association", "science and production association",
            "scientific industrial association", "research production association",
        ),
        ("npo", "rpa", "spo"),
    ),
    "science_production_enterprise": (
        (
            "nauchno proizvodstvennoye predpriyatiye", "nauchno proizvodstvennoe predpriyatie",
            "scientific production enterprise", "scientific and production enterprise",
            "research and production enterprise", "science and production enterprise",
            "research production enterprise",
        ),
        ("npp", "rpe", "spe"),
    ),
    "science_production_company": (
        (
            "nauchno proizvodstvennaya korporatsiya", "nauchno proizvodstvennaya kompaniya",
            "nauchno proizvodstvenny kompleks", "nauchno proizvodstvennyy kompleks",
            "scientific production corporation", "research and production corporation",
            "research and production complex", "scientific production complex",
            "scientific and production corporation", "research and production company",
        ),
        ("npk", "rpc", "spc"),
    ),
    "research_institute": (
        (
            "nauchno issledovatelsky institut", "nauchno issledovatelskiy institut",
            "nauchno issledovatelskii institut", "research institute",
            "scientific research institute", "research and development institute",
        ),
        ("nii", "niii", "sri"),
    ),
    "central_research_institute": (
        (
            "tsentralny nauchno issledovatelsky institut",
            "tsentralnyy nauchno issledovatelskiy institut",
            "central research institute", "central scientific research institute",
        ),
        ("tsnii", "cnii", "csri", "cri"),
    ),
    "machine_building_design_bureau": (
        (
            "mashinostroitelnoye konstruktorskoye byuro",
            "mashinostroitelnoe konstruktorskoe byuro",
            "machine building design bureau", "engineering design bureau",
        ),
        ("mkb",),
    ),
    "trading_house": (
        ("torgovy dom", "torgovyi dom", "torgovyy dom", "trading house", "trade house"),
        ("td",),
    ),
    "federal_unitary_enterprise": (
        (
            "federalnoye gosudarstvennoye unitarnoye predpriyatiye",
            "federalnoe gosudarstvennoe unitarnoe predpriyatie",
            "federal state unitary enterprise",
        ),
        ("fgup", "fsue"),
    ),
    "unitary_enterprise": (
        (
            "gosudarstvennoye unitarnoye predpriyatiye", "gosudarstvennoe unitarnoe predpriyatie",
            "state unitary enterprise", "unitarnoye predpriyatiye", "unitary enterprise",
            # Belarus: the republic's unitary enterprises (RUP), in Russian and Belarusian
            "respublikanskoye unitarnoye predpriyatiye", "respublikanskoe unitarnoe predpriyatie",
            "respublikanskaye unitarnaye pradpryemstva", "republican unitary enterprise",
        ),
        ("gup", "sue", "rup", "rue"),
    ),
    "import_export": (
        (
            "import export", "import and export", "importexport", "imp exp", "impexp",
            "jinchukou", "jin chu kou", "ithalat ihracat", "ithalat ve ihracat",
            "import eksport", "importeksport",
        ),
        ("ie", "i e"),
    ),
    "foreign_economic": (
        (
            "vneshneekonomicheskoye", "vneshneekonomicheskoe", "vneshneekonomicheskaya",
            "vneshneekonomicheskoe obedinenie", "vneshneekonomicheskoye obyedineniye",
            "foreign economic", "foreign economic association", "foreign trade association",
        ),
        ("vo",),
    ),
    "commercial_bank": (
        (
            "commercial bank", "kommercheskiy bank", "kommerchesky bank", "kommercheskii bank",
            "joint stock commercial bank", "aktsionerny kommercheskiy bank",
            "aktsionernyy kommercheskiy bank",
        ),
        ("cb", "akb", "jscb"),
    ),
    "trade": (
        (
            "trading", "trade", "trader", "traders", "maoyi", "mao yi", "shangmao", "ticaret",
            "tic", "dis ticaret", "tejarat", "tejarati", "bazargani", "handel", "handels",
            "torgovaya", "torgovy", "torgovyy", "torgovaia", "comercio", "commerce",
            "commercial", "comercial", "kommercheskaya", "trade and commerce", "merchant",
            "torgovoy", "torgovogo", "kommercheskiy",
        ),
        ("trd",),
    ),
    "group": (
        ("group", "grup", "grupo", "groupe", "gruppa", "grupp", "jituan", "ji tuan", "gruppo"),
        (),
    ),
    "concern": (("concern", "kontsern", "konzern", "kontserna"), ()),
    "corporation": (("corporation", "korporatsiya", "korporatsii", "corp"), ()),
    "consortium": (("consortium", "konsortsium", "konsorsiyum"), ()),
    "finance": (
        (
            "financial", "finance", "finansovaya", "finansovy", "finansovyy", "finansovoye",
            "finans", "jinrong", "mali",
        ),
        (),
    ),
    "foundation": (("foundation", "fund", "bonyad", "fond", "fondu", "vakfi", "jijinhui"), ()),
    "holding": (("holding", "holdings", "kholding", "holdingi", "konggu"), ()),
    "industry": (
        (
            "industry", "industries", "industrial", "gongye", "gong ye", "sanayi", "san",
            "sanaye", "sanaat", "sanati", "promyshlennaya", "promyshlennost", "industriya",
            "promyshlenny", "industrialny", "industrialnaya",
            "industrie", "industria", "shiye",
        ),
        (),
    ),
    "technology": (
        (
            "technology", "technologies", "technical", "tech", "tek", "keji", "ke ji",
            "tekhnologii", "tekhnologiya", "teknoloji", "teknolojileri", "fanavari", "fan avari",
            "tekhnika", "tekhnicheskiy",
        ),
        (),
    ),
    "electronics": (
        (
            "electronics", "electronic", "dianzi", "dian zi", "elektronika", "elektronik",
            "electronique",
        ),
        (),
    ),
    "machine_building": (
        (
            "machine building", "machinebuilding", "mashinostroyeniya", "mashinostroeniya",
            "mashinostroitelny", "mashinostroitelnyy", "mashinostroitelnyi", "machinery",
            "makina", "machine", "machines", "jixie", "ji xie", "mashin sazi", "mashinsazi",
            "makina sanayi",
        ),
        (),
    ),
    "instrument_making": (
        (
            "instrument making", "instrument engineering", "priborostroeniya",
            "priborostroyeniya", "priborostroitelny", "priborostroitelnyy", "instrument",
            "instruments", "yiqi",
        ),
        (),
    ),
    "cartridge": (("cartridge", "cartridges", "patronny", "patronnyy", "patronnyi"), ()),
    "bank": (("bank", "banka", "banco", "banque", "yinhang", "yin hang", "bankasi"), ()),
    "enterprise": (
        ("enterprise", "enterprises", "predpriyatiye", "predpriyatie", "qiye", "isletmeleri",
         # Ukrainian and Belarusian
         "pidpryemstvo", "pidpryiemstvo", "pidpriemstvo", "pradpryemstva", "pradpryemstvo",
         "pradpriemstva"),
        (),
    ),
    "association": (
        ("association", "obyedineniye", "obedinenie", "obyedinenie", "assotsiatsiya"),
        (),
    ),
    "state": (
        (
            "state", "gosudarstvennaya", "gosudarstvennoye", "gosudarstvennoe",
            "gosudarstvenny", "gosudarstvennyy", "dolati", "dowlati", "devlet",
            # Ukrainian and Belarusian
            "derzhavne", "derzhavnoye", "derzhavnyi", "dzyarzhaunaye", "dziarzhaunaie",
            "dzyarzhauny",
        ),
        ("gos",),
    ),
    "engineering": (
        ("engineering", "mohandesi", "muhendislik", "inzhiniring", "gongcheng", "ingenieria"),
        ("eng", "engg"),
    ),
    "scientific": (
        ("scientific", "science", "nauchny", "nauchnyy", "nauchno", "elmi", "kexue"), ()
    ),
    "research": (("research", "issledovatelsky", "issledovatelskiy", "tahghighat", "yanjiu"), ()),
    "aviation": (
        ("aviation", "aviatsionny", "aviatsionnyy", "aviation industry", "hangkong",
         "havacilik", "havapeyma", "aviatsii", "aviatsiya", "aviatsionnykh"),
        (),
    ),
    "chemical": (
        ("chemical", "chemicals", "khimichesky", "khimicheskiy", "huagong", "kimya", "shimi",
         "chemistry", "khimii", "khimiya", "khimiyi",
         "shimiai", "shimiaei"),
        (),
    ),
    "development": (
        (
            "development", "razvitiya", "razvitiye", "fazhan", "tosee", "toseeh", "gostaresh",
            "kaifa",
            "gelistirme",
        ),
        (),
    ),
    "international": (
        ("international", "intl", "guoji", "mezhdunarodny", "mezhdunarodnyy", "uluslararasi",
         "beynolmelal", "internacional"),
        ("int",),
    ),
    "headquarters": (("headquarters", "setad", "gharargah", "gharargahe", "shtab", "karargah"), ()),
    "agriculture": (
        (
            "agriculture", "agricultural", "agrarian", "agrarnoye", "agrarny", "agro",
            "selskokhozyaystvennoye", "selskokhozyaystvenny", "keshavarzi", "tarim", "nongye",
        ),
        (),
    ),
    "cement": (("cement", "siman", "tsement", "cemento", "cimento", "cimentos", "shuini"), ()),
    "manufacturing": (
        (
            "manufacturing", "manufacture", "manufacturer", "manufacturers", "production",
            "producer", "producers", "proizvodstvo", "proizvodstvennoye", "proizvodstvennaya",
            "vyrobnytstvo", "vyrobnyche", "sazi", "tolid", "tolidi", "uretim", "imalat",
            "shengchan", "zhizao",
        ),
        (),
    ),
    "investment": (
        (
            "investment", "investments", "invest", "touzi", "yatirim", "sarmayeh",
            "investitsionnaya", "investitsionny", "investitsii", "investitsiya",
        ),
        (),
    ),
    "equipment": (
        ("equipment", "oborudovaniye", "oborudovanie", "tajhizat", "ekipman", "shebei"), ()
    ),
    "transport": (
        (
            "transport", "transportation", "transportnaya", "transportny", "nakliyat",
            "tasimacilik", "haml va naghl", "yunshu",
        ),
        (),
    ),
    "complex": (("complex", "kompleks", "mojtame", "mojtameh"), ()),
    "trust": (("trust", "trest"), ()),
    "leasing": (("leasing", "lizing", "lizingovaya", "lizingovaia"), ()),
    "refinery": (
        (
            "refinery", "refining", "neftepererabatyvayushchiy zavod",
            "neftepererabatyvayushchy zavod", "palayeshgah", "palayesh", "rafineri", "lianyouchang",
        ),
        ("npz",),
    ),
    "services": (("services", "service", "khadamat", "hizmetleri", "uslugi", "fuwu"), ()),
    "shipping": (
        ("shipping", "sudokhodnaya", "kashtirani", "hangyun", "haiyun", "denizcilik", "gemi",
         "gemicilik"),
        (),
    ),
    "logistics": (("logistics", "wuliu", "logistika", "lojistik"), ()),
    "freight": (
        ("freight", "cargo", "gruzovoy", "gruzovaya", "gruzoperevozki", "huoyun", "kargo",
         "nakliye"),
        (),
    ),
    "agro_industrial_complex": (
        ("agro industrial complex", "agropromyshlenny kompleks", "agropromyshlennyy kompleks"),
        ("apk",),
    ),
    "microcredit_company": (
        ("microcredit company", "microfinance organization", "microfinance organisation",
         "mikrokreditnaya kompaniya", "mikrofinansovaya organizatsiya"),
        ("mkk", "mcc", "mfo"),
    ),
    "innovation": (
        ("innovation", "innovations", "innovative", "chuangxin", "innovatsiya", "innovatsii"), ()
    ),
    "construction": (
        ("construction", "insaat", "stroitelnaya", "jianshe", "sakhteman", "sazandegi"), ()
    ),
    "energy": (("energy", "energiya", "enerji", "nengyuan", "energetika"), ()),
    "general": (("general", "obshchiy", "genel", "zong"), ()),
    "foreign": (("foreign", "vneshnyaya", "vneshne", "dis", "khareji"), ()),
    # Words of names that lists translate and declarants do not, or the other way round.
    "north": (
        (
            "north", "northern", "sever", "severny", "severnyy", "severnaya", "shomal", "shomali",
            "kuzey",
        ),
        (),
    ),
    "south": (
        (
            "south", "southern", "yug", "yugo", "yuzhny", "yuzhnyy", "yuzhnaya", "jonub", "jonoub",
            "jonubi", "guney",
        ),
        (),
    ),
    "east": (
        (
            "east", "eastern", "vostok", "vostochny", "vostochnyy", "vostochnaya", "sharq",
            "shargh", "dogu",
        ),
        (),
    ),
    "west": (
        (
            "west", "western", "zapad", "zapadny", "zapadnyy", "zapadnaya", "gharb", "bati",
        ),
        (),
    ),
    "new": (
        (
            "new", "novy", "novyy", "novaya", "novoye", "novoe", "jadid", "yeni",
        ),
        (),
    ),
    "central": (
        (
            "central", "centre", "center", "tsentr", "tsentra", "tsentralny", "tsentralnyy",
            "tsentralnaya", "markazi",
            "zhongyang", "merkez",
        ),
        (),
    ),
    "all_russian": (
        (
            "all russian", "all russia", "vserossiyskiy", "vserossiysky", "vserossiiskii",
            "vserossiiskiy", "vserossiskiy",
        ),
        (),
    ),
    "national": (
        (
            "national", "natsionalny", "natsionalnyy", "natsionalnaya", "melli", "guojia",
            "ulusal",
        ),
        (),
    ),
    "federal": (
        (
            "federal", "federalny", "federalnyy", "federalnaya", "federalnoye",
        ),
        (),
    ),
    "regional": (
        (
            "regional", "kraevoy", "krayevoy", "oblastnoy", "oblastnaya", "regionalny",
            "regionalnyy", "ostani",
        ),
        (),
    ),
    "sea": (
        (
            "sea", "marine", "maritime", "morskoy", "morskoi", "morskaya", "daryaei", "haiyang",
            "deniz",
        ),
        (),
    ),
    "port": (
        (
            "port", "seaport", "sea port", "morskoy port", "bandar", "liman", "gangkou",
        ),
        (),
    ),
    "oil": (
        (
            "oil", "neft", "neftyanaya", "neftyanoy", "naft", "shiyou", "petrol",
        ),
        (),
    ),
    "gas": (
        (
            "gas", "gaz", "gazovaya", "tianranqi",
        ),
        (),
    ),
    "oil_gas": (
        (
            "oil and gas", "neftegaz", "neftegazovaya", "naft va gaz",
        ),
        (),
    ),
    "airline": (
        (
            "airline", "airlines", "aircompany", "air company", "aviakompaniya", "havapeymaei",
            "hava yollari", "hangkong gongsi",
        ),
        (),
    ),
    "shipbuilding": (
        (
            "shipbuilding", "sudostroitelny zavod", "sudostroitelnyy zavod",
            "shipbuilding plant", "shipbuilding yard", "shipbuilding works",
            "shipyard", "sudostroitelny", "sudostroitelnyy", "sudostroitelnyi",
            "sudoverf", "kashtisazi", "tersane", "zaochuan",
        ),
        ("sz",),
    ),
    "ship_repair": (
        (
            "ship repair", "sudoremontny", "sudoremontnyy", "sudoremontnyi",
        ),
        (),
    ),
    "repair": (
        (
            "repair", "remontny", "remontnyy", "remontnyi", "tamir", "tamirat", "weixiu",
        ),
        (),
    ),
    "mechanical": (
        (
            "mechanical", "mechanics", "mekhanicheskiy", "mekhanichesky", "mekhaniki", "mekanik",
        ),
        (),
    ),
    "management": (
        (
            "management", "managing", "menedzhment", "upravlyayushchaya", "upravleniye",
            "upravlenie", "modiriyat", "yonetim", "guanli",
        ),
        (),
    ),
    "project": (
        (
            "project", "projects", "proekt", "proekty", "proektov", "proje", "xiangmu",
        ),
        (),
    ),
    "film": (("film", "films", "kino", "sinema", "cinema", "dianying"), ()),
    "film_studio": (
        (
            "film studio", "film studios", "kinostudiya", "kinostudia", "kinodstudiya",
        ),
        (),
    ),
    "tobacco": (
        (
            "tobacco", "tabachnaya", "tabachny", "tutun", "dokhaniyat", "yancao",
            "tytunyovaya", "tytunevaya", "tyutyunova",
        ),
        (),
    ),
    "factory_tobacco": (
        (
            "tobacco factory", "tabachnaya fabrika", "tytunyovaya fabryka",
        ),
        (),
    ),
    "metallurgy": (
        (
            "metallurgy", "metallurgical", "metallurgicheskiy", "metallurgichesky", "metalurji",
            "yejin",
        ),
        (),
    ),
    "steel": (
        (
            "steel", "stal", "stalnoy", "foulad", "folad", "celik", "gangtie",
        ),
        (),
    ),
    "aluminium": (
        (
            "aluminium", "aluminum", "alyuminiy", "aluminiom", "alominiom",
        ),
        (),
    ),
    "drilling": (
        ("drilling", "burenie", "burenia", "burovaya", "burovoy", "burovoye", "sondaj",
         "haffari", "zuantan"),
        (),
    ),
    "livestock": (
        ("livestock", "animal husbandry", "hayvancilik", "zhivotnovodstvo", "zhivotnovodcheskiy",
         "dam parvari", "xumu"),
        (),
    ),
    "military": (
        ("military", "voenny", "voennyy", "voennaya", "voennoye", "voenno", "voyenny",
         "voyennaya", "voyennoye", "voyenno", "nezami", "askeri", "junshi"),
        (),
    ),
    "economic": (
        ("economic", "economy", "jingji", "ekonomicheskiy", "ekonomicheskaya", "eqtesadi",
         "iqtisadi", "ekonomik"),
        (),
    ),
    "wine": (
        ("wine", "wines", "vino", "vina", "vin", "vyna", "vyno", "sharab", "sarap",
         "putaojiu"),
        (),
    ),
    "viticulture": (
        ("viticulture", "grape", "grapes", "vinograd", "vinograda", "vinogradarstvo",
         "vynograd", "vynogradu", "uzum", "angur"),
        (),
    ),
    "power_plant": (
        ("power plant", "power station", "thermal power plant", "heat and power plant",
         "combined heat and power plant", "teploelektrotsentral", "teploelektrostantsiya",
         "elektrostantsiya", "nirogah", "santral"),
        ("tets", "tes", "gres"),
    ),
    "agency": (("agency", "agentstvo", "acente", "acentesi", "acentelik", "daili"), ()),
    "design_technological_bureau": (
        (
            "konstruktorsko tekhnologicheskoye byuro", "konstruktorsko tekhnologicheskoe byuro",
            "design and technological bureau", "design technological bureau",
            "design and technology bureau", "design technology bureau",
        ),
        ("ktb",),
    ),
    "non_bank_credit_organization": (
        (
            "non bank credit organization", "non bank credit organisation",
            "nebankovskaya kreditnaya organizatsiya",
        ),
        ("nko", "nco"),
    ),
    "free_zone": (
        ("free zone", "free trade zone", "zona franca", "serbest bolge", "mantaghe azad"),
        ("ftz",),
    ),
    "mining": (
        (
            "mining", "mine", "mines", "gornaya", "gorno", "madan", "madani", "maden", "minerals",
            "kuangye", "shakhta", "rudnik", "razrez", "open pit mine", "open pit",
        ),
        (),
    ),
    "coal": (
        ("coal", "ugol", "ugolnaya", "ugolnaia", "ugolny", "zoghal sang", "komur", "meitan"), ()
    ),
    "potash": (("potash", "kaliynaya", "kaliinaia", "kaliyny", "potas"), ()),
    "petrochemical": (
        (
            "petrochemical", "petrochemicals", "neftekhimiya", "neftekhimicheskiy", "petroshimi",
            "petrokimya", "shihua",
        ),
        (),
    ),
    "insurance": (
        (
            "insurance", "strakhovaya", "strakhovoy", "bimeh", "sigorta", "baoxian",
        ),
        (),
    ),
    "exchange": (
        (
            "exchange", "sarafi", "sarrafi", "birzha", "borsa",
        ),
        (),
    ),
    "movement": (
        (
            "movement", "dvizheniye", "dvizhenie", "harakat", "jonbesh", "hareket",
        ),
        (),
    ),
    "ministry_of_defence": (
        (
            "ministry of defence", "ministry of defense", "ministerstva oborony",
            "ministerstvo oborony", "minoborony", "vezarat defa",
        ),
        (),
    ),
    "space": (
        ("space", "kosmicheskiy", "kosmicheskii", "kosmicheskaya", "kosmos", "hangtian"), ()
    ),
    "aerospace": (
        ("aerospace", "aerokosmicheskiy", "aerokosmicheskaya", "havafaza", "yuhang", "hangtian"),
        (),
    ),
    "nuclear": (
        (
            "nuclear", "atomic", "yaderny", "yadernyy", "atomny", "atomnyy", "atomnaya",
            "hastei", "hasteei", "hedian",
        ),
        (),
    ),
    "helicopter": (
        ("helicopter", "helicopters", "vertolet", "vertolety", "vertoletny", "vertoletnyy"), ()
    ),
    "engine": (
        (
            "engine", "engines", "dvigatel", "dvigateli", "motorostroitelny", "engine building",
            "motor building",
        ),
        (),
    ),
    "communications": (
        (
            "communications", "communication", "telecommunications", "svyaz", "svyazi",
            "ertebatat", "iletisim", "tongxin",
        ),
        (),
    ),
    "optical": (("optical", "optics", "optiko", "opticheskiy", "optichesky", "guangxue"), ()),
    "radar": (("radar", "radars", "radiolokatsii", "radiolokatsionny", "radiolokatsionnykh"), ()),
    "electronic_warfare": (
        ("electronic warfare", "radioelektronnoy borby", "radioelektronnoi borby"), ("reb",)
    ),
    "automation": (
        ("automation", "automatics", "avtomatika", "avtomatiki", "avtomatizatsii"), ()
    ),
    "precision": (("precision", "tochnoy", "tochnogo", "tochnaya", "daghigh"), ()),
    "resort": (
        (
            "resort", "resorts", "health resort", "sanatorium", "sanatoriy", "sanatorii",
            "sanatori", "kurort", "sanatorno kurortny", "sanatorny kompleks",
        ),
        (),
    ),
    "bureau": (("bureau", "byuro", "biuro", "buro"), ()),
    "academician": (("academician", "akademik", "akademika", "akad"), ()),
    # Russia's second city, as rigour does not know its transliterations.
    "saint_petersburg": (
        (
            "saint petersburg", "st petersburg", "sankt peterburg", "sankt petersburg",
            "sankt peterburgskiy", "sankt peterburgskoye", "sankt peterburgskoe",
            "sankt peterburgski", "petersburg", "peterburg", "peterburgskiy",
        ),
        ("spb",),
    ),
    "institution": (
        (
            "institution", "establishment", "uchrezhdeniye", "uchrezhdenie", "uchrezhdeniya",
            "ustanova",
        ),
        (),
    ),
    "budgetary": (("budgetary", "budget", "byudzhetnoye", "byudzhetnoe", "bjudzhetnoe"), ()),
    "treasury": (("treasury", "government owned", "kazennoye", "kazennoe", "kazenny"), ()),
    "educational": (
        ("educational", "education", "obrazovatelnoye", "obrazovatelnoe", "egitim", "ogretim",
         "amoozesh", "amuzesh", "jiaoyu"),
        (),
    ),
    "higher_education": (
        ("higher education", "vysshego obrazovaniya", "vysshego professionalnogo obrazovaniya"),
        (),
    ),
    "military_unit": (
        ("military unit", "voyskovaya chast", "voiskovaia chast", "voinskaya chast"),
        ("v ch",),
    ),
    "automobile": (
        (
            "automobile", "automobiles", "automotive", "motor vehicles", "motor vehicle",
            "avtomobilny", "avtomobilnyy", "avtomobilnyi", "avtomobilnaya", "autamabilny",
            "autamabilly", "khodro", "otomotiv", "qiche",
        ),
        (),
    ),
    "rocket": (
        (
            "rocket", "rockets", "missile", "missiles", "raketny", "raketnyy", "raketnaya",
            "raketnoye", "raketno", "mooshak", "moushak", "daodan",
        ),
        (),
    ),
    "armour": (("armored", "armoured", "armour", "armor", "bronetankovy", "bronetankovyy"), ()),
    "civil": (("civil", "civilian", "grazhdanskaya", "grazhdanskoi", "grazhdansky"), ()),
    "lng": (
        (
            "liquefied natural gas", "szhizhenny prirodny gaz", "szhizhennyi prirodnyi gaz",
            "szhizhennyy prirodnyy gaz",
        ),
        ("lng", "spg"),
    ),
    "institute": (
        (
            "institute", "institut", "instytut", "instytutu", "moasseseh", "enstitu", "yanjiusuo",
        ),
        (),
    ),
    "university": (
        (
            "university", "universitet", "daneshgah", "universite", "daxue",
        ),
        (),
    ),
    # Words that only say "company": the lists and declarants add or drop them at will.
    "": (
        (
            "aktsionerny", "aktsionernyy", "aktsionernaya", "aktsionernogo", "otkrytogo tipa",
            "otkrytovo tipa", "zakrytovo tipa", "private", "pvt",
            # Soviet orders in a name, which translations drop
            "ordena trudovogo krasnogo znameni", "ordena lenina", "ordena krasnogo znameni",
            "order of the red banner of labour", "order of lenin",
            "zakrytogo tipa", "imeni", "named by", "named after", "ozel",
            "company", "companies", "co", "sa de cv", "sab de cv", "s de rl de cv", "s de rl",
            "gongsi", "gong si", "youxian gongsi", "you xian gong si", "youxian zeren gongsi",
            "gufen youxian gongsi", "kompaniya", "kompanii", "sherkat", "sherkate", "shirkat",
            "sirketi", "anonim sirketi", "anonim sirket", "sahami khass", "sahami khas",
            "sahami khaas", "sahami am", "sahami aam", "sahami", "sti", "compania", "companhia",
            "societe", "firm", "firma", "kampaniya",
            "kampanii", "taa", "ztaa", "fllc", "aat", "zat", "pat", "prat", "tdv", "the", "of",
            "and", "ve", "va", "foreign limited liability company", "y", "i", "e", "et", "und",
            # single-member limited companies of French-speaking countries
            "surl", "sarlu", "eurl",
            "de", "des", "du", "la", "le", "el", "da", "do", "der",
        ),
        (),
    ),
}  # fmt: skip

# Parts of the world that names carry as they carry a country or a city ("Pamchel Asia",
# "Morgan Middle East"): places, which rigour's territories (countries and their subdivisions)
# do not hold.
REGIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "@region-asia": (("asia", "asian", "aziya", "aziia", "asya", "asiya", "yazhou"), ()),
    "@region-europe": (("europe", "european", "evropa", "yevropa", "avrupa", "ouzhou"), ()),
    "@region-africa": (("africa", "african", "afrika", "afriqa"), ()),
    "@region-america": (("america", "americas", "amerika", "latin america", "latin american"), ()),
    "@region-middle_east": (
        ("middle east", "mideast", "near east", "khavarmianeh", "khavare mianeh",
         "sharq al awsat", "orta dogu", "blizhniy vostok", "blizhny vostok"),
        (),
    ),
}  # fmt: skip

# A concept that is a kind of another: "Commercial Bank North Credit" is the "North Credit
# Bank". Such a pair agrees, a little less than the same concept does.
BROADER: dict[str, str] = {
    "commercial_bank": "bank",
    "federal_unitary_enterprise": "unitary_enterprise",
    "unitary_enterprise": "enterprise",
    "science_production_enterprise": "enterprise",
    "science_production_association": "association",
    "experimental_design_bureau": "design_bureau",
    "special_design_bureau": "design_bureau",
    "central_design_bureau": "design_bureau",
    "design_bureau": "bureau",
    "design_technological_bureau": "design_bureau",
    "film_studio": "film",
    "livestock": "agriculture",
    "freight": "logistics",
    "agro_industrial_complex": "agriculture",
    "research_institute": "institute",
    "central_research_institute": "research_institute",
    "machine_building_design_bureau": "design_bureau",
    "factory_tobacco": "plant",
    "shipbuilding": "plant",
    "ship_repair": "repair",
    "oil_gas": "oil",
    "petrochemical": "chemical",
    "airline": "aviation",
    "concern": "group",
    "corporation": "group",
    "consortium": "group",
    "holding": "group",
}

# Chinese words replaced before transliteration, which would otherwise split them into
# syllables: the Latin words stand for the same concepts above.
CJK_COMPANY_WORDS: tuple[tuple[str, str], ...] = (
    ("股份有限公司", " company "),
    ("有限责任公司", " company "),
    ("有限公司", " company "),
    ("进出口", " import export "),
    ("集团", " group "),
    ("公司", " company "),
    ("贸易", " trading "),
    ("商贸", " trading "),
    ("工业", " industry "),
    ("科技", " technology "),
    ("技术", " technology "),
    ("电子", " electronics "),
    ("国际", " international "),
    ("机械", " machinery "),
    ("工厂", " plant "),
    ("厂", " plant "),
    ("银行", " bank "),
    ("研究所", " research institute "),
)
