"""Name, street and town lists the demo generator draws from. Names come in language
groups so that a French first name goes with a French surname often enough to look real,
and accented spellings (José, Zoë, François, Müller) exercise accent-insensitive search."""
from __future__ import annotations

from dataclasses import dataclass

FIRST_NAMES = {
    "en": [
        "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
        "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
        "Sarah", "Christopher", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty",
        "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Paul",
        "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa",
        "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason", "Sharon",
        "Ryan", "Laura", "Jacob", "Cynthia", "Gary", "Amy", "Nicholas", "Angela", "Eric", "Helen",
        "Jonathan", "Anna", "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott",
        "Nicole", "Brandon", "Samantha", "Benjamin", "Katherine", "Samuel", "Christine", "Gregory",
        "Rachel", "Alexander", "Olivia", "Liam", "Noah", "Ava", "Sophia", "Isabella", "Mia",
        "Ethan", "Logan", "Chloe", "Zoë", "Owen", "Hannah", "Caleb", "Grace", "Nathan", "Abigail",
        "Connor", "Madison", "Wyatt", "Avery", "Hunter", "Brooke", "Colin", "Fiona", "Graham",
        "Heather", "Ian", "Jill", "Keith", "Leah", "Malcolm", "Naomi", "Brendan", "Siobhan",
    ],
    "fr": [
        "François", "Françoise", "Jean", "Marie", "Pierre", "Hélène", "Jacques", "Geneviève",
        "Luc", "Élise", "André", "Chloé", "René", "Noémie", "Gaétan", "Sylvie", "Stéphane",
        "Mélanie", "Benoît", "Josée", "Rémi", "Anaïs", "Jérôme", "Émilie", "Yves", "Céline",
        "Gilles", "Nathalie", "Étienne", "Isabelle", "Mathieu", "Véronique", "Olivier",
        "Valérie", "Sébastien", "Maryse", "Denis", "Danielle", "Marc-André", "Marie-Ève",
        "Jean-François", "Anne-Sophie", "Raphaël", "Léa", "Thérèse", "Gérard", "Réjean", "Maëlle",
    ],
    "es": [
        "José", "María", "Jesús", "Lucía", "Ramón", "Sofía", "Andrés", "Inés", "Héctor", "Mónica",
        "Raúl", "Begoña", "Joaquín", "Verónica", "Martín", "Ángela", "Iván", "Nuria", "Óscar",
        "Alejandro", "Camila", "Diego", "Valentina", "Javier", "Carmen", "Fernando", "Rocío",
    ],
    "de": [
        "Jürgen", "Günter", "Jörg", "Björn", "Uwe", "Käthe", "Sören", "Ulrike", "Dieter",
        "Brigitte", "Klaus", "Heike", "Matthias", "Anke", "Wolfgang", "Sabine", "Lukas", "Lena",
    ],
    "other": [
        "Zoë", "Noël", "Chloë", "Anaïs", "Søren", "Åsa", "Bjørn", "Ingrid", "Mehmet", "Ayşe",
        "Priya", "Arjun", "Wei", "Mei", "Hiroshi", "Yuki", "Aisha", "Omar", "Fatima", "Ahmed",
        "Olga", "Dmitri", "Katarzyna", "Łukasz", "Tomás", "Siân", "Niamh", "Seán", "Ngozi",
        "Kwame", "Minh", "Thảo", "Giovanni", "Giulia", "Matteo", "Chiara", "Ana", "João",
    ],
}

LAST_NAMES = {
    "en": [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
        "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
        "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill",
        "Green", "Adams", "Baker", "Nelson", "Campbell", "Mitchell", "Roberts", "Carter",
        "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris",
        "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Bell",
        "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett",
        "Gray", "Hughes", "Price", "Sanders", "Myers", "Long", "Ross", "Foster", "MacDonald",
        "McLeod", "Fraser", "MacKenzie", "O'Brien", "O'Neill", "Sullivan", "Fitzgerald",
        "Henderson", "Graham", "Hamilton", "Stevenson", "Crawford", "Murray", "Douglas",
        "Kennedy", "Ferguson", "Reid", "Cameron", "Burns", "Gallagher", "Doyle", "Quinn",
    ],
    "fr": [
        "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie",
        "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Leblanc",
        "Paquette", "Girard", "Simard", "Boucher", "Caron", "Beaulieu", "Cloutier", "Dubé",
        "Poirier", "Fournier", "Lapointe", "Leclerc", "Lefebvre", "Poulin", "Thibault", "St-Pierre",
        "Desjardins", "Lachance", "Thériault", "Bérubé", "Daigle", "Ménard", "Hébert", "Boulanger",
    ],
    "es": [
        "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
        "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Cruz", "Morales", "Ortiz",
        "Gutiérrez", "Chávez", "Ramos", "Núñez", "Jiménez", "Muñoz", "Álvarez", "Castillo",
    ],
    "de": [
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
        "Schwarz", "Zimmermann", "Krüger", "Hofmann", "Hartmann", "Köhler", "Jäger", "Groß",
    ],
    "other": [
        "Nguyen", "Tran", "Le", "Pham", "Chen", "Wang", "Li", "Zhang", "Liu", "Singh", "Patel",
        "Sharma", "Kumar", "Gupta", "Khan", "Ali", "Hussain", "Kim", "Park", "Choi", "Tanaka",
        "Suzuki", "Yamamoto", "Kowalski", "Nowak", "Wiśniewski", "Ivanov", "Petrov", "Rossi",
        "Russo", "Ferrari", "Esposito", "Silva", "Santos", "Oliveira", "Costa", "Yılmaz",
        "Øster", "Åberg", "Nørgaard", "Papadopoulos", "Okafor", "Mensah", "Haddad", "Nakamura",
    ],
}

# How often each language group is drawn, and the language the customer prefers.
NAME_GROUPS = [("en", 55, "en"), ("fr", 20, "fr"), ("es", 7, "es"), ("de", 5, "en"), ("other", 13, "en")]

EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.ca", "post.example.ca"]

BUSINESS_KINDS = [
    "Bakery", "Hardware", "Dental Clinic", "Pharmacy", "Auto Repair", "Florist", "Pizzeria",
    "Café", "Bookshop", "Hair Studio", "Veterinary Clinic", "Law Office", "Insurance",
    "Physiotherapy", "Grocery", "Dry Cleaning", "Fitness Centre", "Optometry", "Brasserie",
    "Boulangerie", "Taquería", "Electronics", "Furniture", "Garden Centre", "Daycare",
]
BUSINESS_SUFFIXES = ["Inc.", "Ltd.", "Ltée", "Co.", "", "", "& Sons", "Enterprises"]
INDUSTRY_KINDS = [
    "Manufacturing", "Plastics", "Metal Works", "Foods", "Packaging", "Cold Storage",
    "Printing", "Fabrication", "Lumber", "Logistics", "Dairy", "Brewing Company",
]
INDUSTRY_WORDS = [
    "Cataraqui", "Limestone", "Frontenac", "Quinte", "Rideau", "Loyalist", "Great Lakes",
    "Northern", "Maple Leaf", "Thousand Islands", "Lakeshore", "Trent", "Bay of Quinte",
]
PROPERTY_MANAGERS = [
    "Limestone Property Management Inc.", "Gestion Immobilière Côté Ltée",
    "Frontenac Residential REIT", "Quinte Apartments Ltd.", "Rideau Living Inc.",
    "Harbourfront Properties Co.", "Müller Realty Group", "Northern Lights Residences Ltd.",
]
CHAINS = [
    "Tim's Corner Coffee Ltd.", "Great Lakes Grocers Inc.", "Pharmacie Bélanger Ltée",
    "Northern Hardware Co.", "Maple Fuel & Convenience Inc.", "Quinte Dollar Stores Ltd.",
]

STREET_NAMES = [
    "King", "Queen", "Princess", "Brock", "Johnson", "Earl", "William", "Division", "Barrie",
    "Clergy", "Sydenham", "Wellington", "Bagot", "Montreal", "Alfred", "Victoria", "Albert",
    "Gore", "Union", "Collingwood", "Portsmouth", "Bath", "Centre", "Elm", "Maple", "Oak",
    "Birch", "Cedar", "Willow", "Pine", "Spruce", "Chestnut", "Walnut", "Aberdeen", "Mowat",
    "Macdonald", "Frontenac", "Nelson", "Regent", "Churchill", "Laurier", "Cartier",
    "Champlain", "Saint-Laurent", "Lakeview", "Riverside", "Hillcrest", "Sunnyside", "Park",
    "Church", "Mill", "Station", "Market", "Bridge", "Water", "Front", "Dundas", "Pinnacle",
    "Coleman", "Murney", "Charles", "George", "Edward", "Elizabeth", "Catherine", "Mary",
    "Hickory", "Juniper", "Poplar", "Sumac", "Tamarack", "Hawthorn", "Lilac", "Orchard",
    "Meadow", "Glenwood", "Briarwood", "Fairway", "Highland", "Woodland", "Rosedale",
]
STREET_TYPES = ["Street", "Street", "Avenue", "Road", "Drive", "Crescent", "Court", "Lane", "Boulevard", "Place"]

# Letters Canada Post never uses in postal codes.
POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"


@dataclass(frozen=True)
class Town:
    name: str
    code: str  # route prefix
    region: str
    postal_prefixes: tuple[str, ...]  # forward sortation areas
    latitude: float
    longitude: float
    weight: int  # share of premises
    sewer: bool  # the utility bills sewer for this town


TOWNS = [
    Town("Kingston", "KGN", "ON", ("K7K", "K7L", "K7M", "K7N", "K7P"), 44.2312, -76.4860, 40, True),
    Town("Belleville", "BLV", "ON", ("K8N", "K8P", "K8R"), 44.1628, -77.3832, 22, False),
    Town("Napanee", "NAP", "ON", ("K7R",), 44.2480, -76.9506, 8, False),
    Town("Brockville", "BRK", "ON", ("K6V",), 44.5895, -75.6843, 14, False),
    Town("Gananoque", "GAN", "ON", ("K7G",), 44.3301, -76.1619, 6, False),
    Town("Picton", "PIC", "ON", ("K0K",), 44.0018, -77.1390, 10, False),
]
