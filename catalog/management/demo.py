"""Demo catalog for `make run`: the category tree, tags, platform and merchant warehouses,
and a few hundred products of the live demo merchants with SKUs, pictures, stock and every
moderation state.

Everything goes through the catalog services (product_create, product_image_add,
product_submit, product_approve, stock_receive, stock_reserve, stock_ship, …) so the data
obeys the same rules as production data. Categories, tags and warehouses have no service
(staff create them in the admin) and are created directly. Idempotent: every record has a
natural key (slug, code, the first SKU code of a product) and is only created when missing;
each product draws from its own seeded random generator, so what is created does not depend
on what already exists.
"""

from __future__ import annotations

import functools
import io
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageOps

from catalog import selectors, services
from catalog.models import SKU, Category, Product, Tag, Warehouse, WarehouseKind
from catalog.services import StockLine
from marketplace.regions import Region

# --- Categories ------------------------------------------------------------------------

# (slug, name, parent slug, rate or None to inherit, fresh, cross-border)
CATEGORIES = [
    ("home", "家居生活", None, "0.0800", False, False),
    ("kitchen", "厨房用品", "home", None, False, False),
    ("cookware", "锅具", "kitchen", None, False, False),
    ("tableware", "餐具", "kitchen", "0.0700", False, False),
    ("lighting", "灯具照明", "home", "0.1000", False, False),
    ("ceiling-lights", "吸顶灯", "lighting", None, False, False),
    ("desk-lamps", "台灯", "lighting", None, False, False),
    ("bedding", "床上用品", "home", None, False, False),
    ("storage", "收纳整理", "home", "0.0900", False, False),
    ("appliances", "家用电器", None, "0.0600", False, False),
    ("small-appliances", "小家电", "appliances", None, False, False),
    ("kitchen-appliances", "厨房小电", "small-appliances", None, False, False),
    ("personal-care", "个护电器", "small-appliances", "0.0800", False, False),
    ("large-appliances", "大家电", "appliances", "0.0500", False, False),
    ("fashion", "服饰鞋包", None, "0.1200", False, False),
    ("womens", "女装", "fashion", None, False, False),
    ("dresses", "连衣裙", "womens", None, False, False),
    ("womens-tops", "女士上衣", "womens", None, False, False),
    ("mens", "男装", "fashion", None, False, False),
    ("shirts", "衬衫", "mens", None, False, False),
    ("mens-trousers", "男裤", "mens", None, False, False),
    ("shoes", "鞋靴", "fashion", "0.1100", False, False),
    ("bags", "箱包", "fashion", None, False, False),
    ("food", "食品生鲜", None, "0.0700", True, False),
    ("fruit", "新鲜水果", "food", "0.0500", True, False),
    ("snacks", "休闲零食", "food", None, False, False),
    ("tea", "茶叶冲饮", "food", "0.0800", False, False),
    ("imported", "进口商品", None, "0.1000", False, True),
    ("imported-beauty", "进口美妆", "imported", "0.1500", False, True),
    ("skincare", "护肤", "imported-beauty", None, False, True),
    ("makeup", "彩妆", "imported-beauty", None, False, True),
    ("imported-food", "进口食品", "imported", None, False, True),
    ("baby", "母婴用品", "imported", "0.0800", False, True),
]

# Rate changes made by the platform admin after the tree was set up, through the service, so
# the admin shows a rate history (applied once, when the category is created).
RATE_CHANGES = [("lighting", "0.0900"), ("imported-beauty", "0.1300")]


def seed_categories(stdout) -> int:
    created = 0
    by_slug = {}
    new = set()
    for position, (slug, name, parent, rate, fresh, cross_border) in enumerate(CATEGORIES):
        category, was_created = Category.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "parent": by_slug.get(parent),
                "commission_rate": Decimal(rate) if rate else None,
                "is_fresh": fresh,
                "is_cross_border": cross_border,
                "position": position,
            },
        )
        by_slug[slug] = category
        created += was_created
        if was_created:
            new.add(slug)
    admin = get_user_model().objects.filter(email="admin@demo.local").first()
    for slug, rate in RATE_CHANGES:
        if slug in new and admin is not None:
            services.category_set_rate(category=by_slug[slug], rate=Decimal(rate), actor=admin)
    return created


# --- Tags ---------------------------------------------------------------------------------

TAGS = [
    ("new", "新品"),
    ("bestseller", "热销"),
    ("free-shipping", "包邮"),
    ("flash-deal", "限时特惠"),
    ("china-made", "国货精品"),
    ("imported", "原装进口"),
    ("organic", "有机"),
    ("eco", "环保材质"),
    ("smart", "智能"),
    ("energy-saving", "节能"),
    ("handmade", "手工制作"),
    ("gift-box", "礼盒装"),
    ("kids", "儿童适用"),
    ("plus-size", "大码"),
    ("portable", "轻薄便携"),
    ("baby-safe", "母婴可用"),
    ("gift", "送礼佳品"),
    ("seasonal", "当季新款"),
    ("quality", "品质保障"),
    ("3h-delivery", "3小时达"),
]


def seed_tags(stdout) -> int:
    created = 0
    for slug, name in TAGS:
        _tag, was_created = Tag.objects.get_or_create(slug=slug, defaults={"name": name})
        created += was_created
    return created


# --- Warehouses ---------------------------------------------------------------------------

# One regional central warehouse per region: (code, name, city).
REGIONAL = {
    Region.NORTH: ("RC-NORTH", "华北中心仓", "北京"),
    Region.NORTHEAST: ("RC-NORTHEAST", "东北中心仓", "沈阳"),
    Region.EAST: ("RC-EAST", "华东中心仓", "上海"),
    Region.CENTRAL: ("RC-CENTRAL", "华中中心仓", "武汉"),
    Region.SOUTH: ("RC-SOUTH", "华南中心仓", "广州"),
    Region.SOUTHWEST: ("RC-SOUTHWEST", "西南中心仓", "成都"),
    Region.NORTHWEST: ("RC-NORTHWEST", "西北中心仓", "西安"),
}
# City cloud warehouses for 3-hour delivery: (code, name, region, city).
CITY_CLOUDS = [
    ("CC-SHA", "上海云仓", Region.EAST, "上海"),
    ("CC-PEK", "北京云仓", Region.NORTH, "北京"),
    ("CC-CAN", "广州云仓", Region.SOUTH, "广州"),
    ("CC-SZX", "深圳云仓", Region.SOUTH, "深圳"),
    ("CC-HGH", "杭州云仓", Region.EAST, "杭州"),
    ("CC-CTU", "成都云仓", Region.SOUTHWEST, "成都"),
]


@dataclass(frozen=True)
class DemoShop:
    """A live demo merchant's catalog: SKU prefix, own warehouse, brands and categories."""

    email: str
    prefix: str
    city: str
    brands: tuple[str, ...]
    categories: tuple[str, ...]


SHOPS = [
    DemoShop(
        "merchant1@demo.local",
        "MLJJ",
        "杭州",
        ("明亮", "禾木家", "暖居"),
        ("cookware", "tableware", "ceiling-lights", "desk-lamps", "bedding", "storage"),
    ),
    DemoShop(
        "merchant2@demo.local",
        "SXF",
        "苏州",
        ("苏绣坊", "锦衣记", "云裳"),
        ("dresses", "womens-tops", "shirts", "mens-trousers", "shoes", "bags"),
    ),
    DemoShop(
        "merchant3@demo.local",
        "YXDQ",
        "上海",
        ("优选", "智享", "Q厨"),
        ("kitchen-appliances", "personal-care", "large-appliances"),
    ),
    DemoShop(
        "merchant4@demo.local",
        "HTQQ",
        "宁波",
        ("北欧之选", "Aurora", "澳洲牧场"),
        ("skincare", "makeup", "imported-food", "baby"),
    ),
]


def _merchant_warehouse_code(shop: DemoShop) -> str:
    return f"MW-{shop.prefix}"


def seed_warehouses(stdout) -> int:
    from merchants.models import Merchant, MerchantStatus

    created = 0
    for region, (code, name, city) in REGIONAL.items():
        _w, was_created = Warehouse.objects.get_or_create(
            code=code, defaults={"name": name, "kind": WarehouseKind.REGIONAL_CENTRAL, "region": region, "city": city}
        )
        created += was_created
    for code, name, region, city in CITY_CLOUDS:
        _w, was_created = Warehouse.objects.get_or_create(
            code=code, defaults={"name": name, "kind": WarehouseKind.CITY_CLOUD, "region": region, "city": city}
        )
        created += was_created
    for shop in SHOPS:
        merchant = Merchant.objects.filter(owner__email=shop.email, status=MerchantStatus.LIVE).first()
        if merchant is None:
            continue
        _w, was_created = Warehouse.objects.get_or_create(
            code=_merchant_warehouse_code(shop),
            defaults={
                "name": f"{merchant.shop_name}{shop.city}自营仓",
                "kind": WarehouseKind.MERCHANT,
                "region": Region.EAST,
                "city": shop.city,
                "merchant": merchant,
            },
        )
        created += was_created
    return created


# --- Product lines --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductLine:
    """What the products of one category look like, to generate titles, SKUs and pictures."""

    nouns: tuple[str, ...]
    features: tuple[str, ...]
    #: Up to two attribute dimensions; SKUs take combinations of their values.
    attributes: tuple[tuple[str, tuple[str, ...]], ...]
    price: tuple[int, int]
    weight: tuple[int, int]
    tags: tuple[str, ...]
    palette: tuple[tuple[int, int, int], tuple[int, int, int]]
    points: tuple[str, ...]


COLOURS_HOME = ("月白", "青灰", "樱粉", "墨黑")
COLOURS_WOMEN = ("黛青", "藕粉", "月白", "墨黑", "酒红")
COLOURS_MEN = ("白色", "浅蓝", "藏青", "深灰", "卡其")
SIZES = ("S", "M", "L", "XL")

LINES = {
    "cookware": ProductLine(
        ("不粘炒锅", "铸铁珐琅锅", "不锈钢汤锅", "平底煎锅", "雪平锅", "多层蒸锅"),
        ("少油烟", "燃气电磁炉通用", "加厚复底", "麦饭石涂层", "家用"),
        (("规格", ("20cm", "24cm", "26cm", "28cm", "30cm", "32cm")),),
        (89, 499),
        (900, 3500),
        ("bestseller", "free-shipping", "china-made", "quality"),
        ((196, 90, 60), (250, 210, 170)),
        ("复合底设计受热均匀，炖煮煎炒都得心应手。", "锅体加厚，不易变形，经久耐用。", "手柄隔热防烫，握感舒适。"),
    ),
    "tableware": ProductLine(
        ("骨瓷餐具套装", "陶瓷饭碗", "日式餐盘", "竹木筷子套装", "保温饭盒", "玻璃水杯"),
        ("釉下彩", "可进微波炉", "耐高温", "简约北欧风", "家用"),
        (("颜色", COLOURS_HOME), ("规格", ("4件套", "6件套", "10件套"))),
        (29, 399),
        (300, 2500),
        ("gift-box", "gift", "eco", "china-made"),
        ((90, 140, 170), (235, 240, 245)),
        ("釉面光洁易清洗，不挂油污。", "可放入洗碗机和微波炉，日常使用更省心。", "素雅配色，百搭各种餐桌风格。"),
    ),
    "ceiling-lights": ProductLine(
        ("LED吸顶灯", "客厅吸顶灯", "卧室吸顶灯", "儿童房吸顶灯", "阳台吸顶灯"),
        ("无频闪", "遥控调光", "超薄", "高显色", "全光谱"),
        (("尺寸", ("40cm", "50cm", "60cm")), ("光色", ("三色调光", "暖白光", "正白光"))),
        (129, 899),
        (1200, 4800),
        ("energy-saving", "smart", "new", "quality"),
        ((240, 200, 90), (255, 248, 225)),
        ("高显色LED光源，还原真实色彩。", "无频闪护眼，适合长时间照明。", "超薄灯体，安装简单，适配多种层高。"),
    ),
    "desk-lamps": ProductLine(
        ("护眼台灯", "床头台灯", "学习台灯", "折叠充电台灯", "木质氛围台灯"),
        ("国AA级照度", "无极调光", "USB充电", "触控开关", "可折叠"),
        (("颜色", ("白色", "黑色", "原木色")),),
        (59, 399),
        (500, 1800),
        ("kids", "portable", "energy-saving", "new"),
        ((250, 190, 80), (60, 60, 80)),
        ("照度均匀，读写不累眼。", "三档色温随心切换，适合阅读、办公和夜灯。", "灯臂可多角度调节，收纳不占地方。"),
    ),
    "bedding": ProductLine(
        ("纯棉四件套", "蚕丝被", "乳胶枕", "夏凉被", "法兰绒毛毯", "羽绒被"),
        ("100支长绒棉", "亲肤透气", "A类标准", "四季通用", "抗菌防螨"),
        (("尺寸", ("1.5m床", "1.8m床", "2.0m床")), ("颜色", ("米白", "雾蓝", "豆沙粉", "浅灰"))),
        (99, 1299),
        (800, 3000),
        ("baby-safe", "quality", "seasonal", "free-shipping"),
        ((170, 190, 220), (245, 240, 235)),
        ("精选长绒棉面料，柔软亲肤，越洗越软。", "活性印染工艺，色牢度高不易褪色。", "A类婴幼儿标准，全家可用。"),
    ),
    "storage": ProductLine(
        ("收纳箱", "衣柜收纳盒", "桌面收纳架", "真空压缩袋", "翻盖鞋盒", "抽屉式收纳柜"),
        ("可叠加", "防潮防尘", "加厚", "透明可视", "免安装"),
        (("规格", ("小号", "中号", "大号", "特大号")),),
        (19, 299),
        (200, 4000),
        ("eco", "free-shipping", "flash-deal", "china-made"),
        ((120, 170, 140), (230, 240, 230)),
        ("环保PP材质，无异味。", "可叠加设计，充分利用垂直空间。", "换季衣物、杂物分类收纳，家里更整洁。"),
    ),
    "dresses": ProductLine(
        ("真丝连衣裙", "碎花连衣裙", "针织连衣裙", "改良旗袍裙", "雪纺长裙"),
        ("桑蚕丝", "收腰显瘦", "刺绣工艺", "法式复古", "通勤百搭"),
        (("颜色", COLOURS_WOMEN), ("尺码", SIZES)),
        (199, 1299),
        (200, 600),
        ("seasonal", "handmade", "china-made", "new"),
        ((160, 60, 90), (245, 215, 220)),
        ("苏绣传统工艺点缀，细节精致。", "垂感面料，上身轻盈飘逸。", "收腰版型修饰身形，通勤约会都合适。"),
    ),
    "womens-tops": ProductLine(
        ("真丝衬衫", "针织开衫", "刺绣T恤", "雪纺衫", "羊毛毛衣"),
        ("宽松版型", "百搭", "亲肤透气", "小香风", "当季新款"),
        (("颜色", COLOURS_WOMEN), ("尺码", SIZES)),
        (99, 799),
        (150, 500),
        ("seasonal", "plus-size", "new", "quality"),
        ((200, 120, 150), (250, 235, 240)),
        ("面料柔软亲肤，四季可穿。", "简约剪裁，轻松搭配半裙或长裤。", "精细走线，做工考究。"),
    ),
    "shirts": ProductLine(
        ("商务长袖衬衫", "免烫衬衫", "亚麻衬衫", "牛津纺衬衫", "真丝短袖衬衫"),
        ("修身", "抗皱免烫", "纯棉", "商务休闲", "透气"),
        (("颜色", COLOURS_MEN), ("尺码", ("39", "40", "41", "42", "43"))),
        (129, 599),
        (250, 450),
        ("quality", "bestseller", "plus-size", "china-made"),
        ((60, 90, 140), (220, 230, 245)),
        ("精梳棉面料，挺括有型。", "免烫工艺，出差通勤省去熨烫。", "经典领型，正装休闲都合适。"),
    ),
    "mens-trousers": ProductLine(
        ("休闲西裤", "直筒牛仔裤", "九分休闲裤", "运动卫裤", "工装裤"),
        ("弹力", "垂感", "修身直筒", "四季款", "免烫"),
        (("颜色", ("黑色", "卡其", "藏青", "深灰")), ("尺码", ("29", "30", "31", "32", "33", "34"))),
        (129, 499),
        (350, 800),
        ("bestseller", "plus-size", "seasonal", "free-shipping"),
        ((70, 70, 80), (200, 190, 170)),
        ("弹力面料，久坐不紧绷。", "立体剪裁，修饰腿型。", "耐磨耐洗，日常百搭。"),
    ),
    "shoes": ProductLine(
        ("真皮乐福鞋", "休闲板鞋", "刺绣布鞋", "切尔西短靴", "轻便跑鞋"),
        ("头层牛皮", "软底舒适", "防滑耐磨", "透气", "手工缝制"),
        (("颜色", ("黑色", "棕色", "米白")), ("尺码", ("37", "38", "39", "40", "41", "42", "43"))),
        (159, 899),
        (600, 1400),
        ("handmade", "quality", "new", "free-shipping"),
        ((120, 80, 50), (230, 210, 190)),
        ("柔软鞋垫，久走不累脚。", "防滑耐磨大底，雨天出行更安心。", "经典款式，四季百搭。"),
    ),
    "bags": ProductLine(
        ("真丝手提包", "帆布托特包", "通勤双肩包", "小方斜挎包", "万向轮登机箱"),
        ("大容量", "轻便", "防泼水", "多隔层", "刺绣装饰"),
        (("颜色", ("黑色", "驼色", "墨绿", "米白")),),
        (99, 1599),
        (400, 3800),
        ("gift", "portable", "handmade", "new"),
        ((40, 100, 80), (225, 235, 225)),
        ("多隔层设计，收纳有条理。", "五金件耐用，拉链顺滑。", "轻便大容量，通勤旅行都适合。"),
    ),
    "kitchen-appliances": ProductLine(
        ("智能电饭煲", "空气炸锅", "破壁料理机", "电热水壶", "豆浆机", "电烤箱", "多功能电煮锅"),
        ("预约定时", "一键智能", "大容量", "不粘内胆", "低噪音"),
        (("容量", ("2L", "3L", "4L", "5L")), ("颜色", ("白色", "奶油黄", "薄荷绿"))),
        (99, 1299),
        (1200, 6000),
        ("smart", "energy-saving", "bestseller", "3h-delivery"),
        ((230, 120, 70), (250, 240, 220)),
        ("多种烹饪模式，一键操作，新手也能做大餐。", "不粘内胆易清洗。", "全国联保，一年只换不修。"),
    ),
    "personal-care": ProductLine(
        ("高速吹风机", "声波电动牙刷", "往复式剃须刀", "自动卷发棒", "筋膜按摩仪"),
        ("负离子护发", "长续航", "IPX7防水", "智能温控", "便携"),
        (("颜色", ("白色", "玫瑰金", "曜石黑")),),
        (79, 999),
        (200, 900),
        ("smart", "portable", "gift", "new"),
        ((150, 110, 200), (240, 230, 250)),
        ("智能温控，呵护秀发与肌肤。", "Type-C快充，一次充电用一个月。", "小巧机身，出差旅行随身带。"),
    ),
    "large-appliances": ProductLine(
        ("变频空调", "滚筒洗衣机", "对开门冰箱", "燃气热水器", "嵌入式洗碗机"),
        ("一级能效", "变频静音", "智能互联", "大容量", "除菌"),
        (("版本", ("标准版", "智能版", "尊享版")),),
        (1999, 8999),
        (30000, 90000),
        ("energy-saving", "smart", "quality", "free-shipping"),
        ((60, 120, 180), (225, 235, 245)),
        ("一级能效，长期使用更省电。", "手机App远程控制，回家前提前开启。", "送货入户，免费安装。"),
    ),
    "skincare": ProductLine(
        ("保湿精华液", "修护面霜", "氨基酸洁面乳", "玻尿酸面膜", "清爽防晒乳", "舒缓爽肤水"),
        ("深层补水", "敏感肌可用", "无添加", "温和配方", "澳洲原装"),
        (("规格", ("30ml", "50ml", "100ml")),),
        (89, 899),
        (100, 500),
        ("imported", "gift-box", "quality", "bestseller"),
        ((120, 180, 190), (240, 250, 250)),
        ("原装进口，海关备案，假一赔十。", "温和配方，敏感肌也可放心使用。", "质地清爽好吸收，不黏腻。"),
    ),
    "makeup": ProductLine(
        ("哑光口红", "持妆粉底液", "九色眼影盘", "纤长睫毛膏", "控油定妆散粉"),
        ("持久不脱妆", "显白", "轻薄服帖", "防水", "法国原装"),
        (("色号", ("01 正红", "02 豆沙", "03 枫叶", "04 奶茶")),),
        (79, 459),
        (30, 200),
        ("imported", "gift", "new", "flash-deal"),
        ((190, 50, 70), (250, 220, 225)),
        ("显色度高，一抹上色。", "持妆一整天，不易脱妆。", "保税仓直发，正品保障。"),
    ),
    "imported-food": ProductLine(
        ("麦卢卡蜂蜜", "72%黑巧克力", "每日混合坚果", "特级初榨橄榄油", "阿拉比卡咖啡豆", "有机燕麦片"),
        ("原装进口", "无添加蔗糖", "有机认证", "家庭装", "礼盒装"),
        (("规格", ("250g", "500g", "1kg")),),
        (39, 399),
        (300, 1500),
        ("imported", "organic", "gift-box", "3h-delivery"),
        ((150, 100, 40), (245, 225, 180)),
        ("原产地直采，新鲜直达。", "配料表干净，无多余添加。", "独立包装，便于保存与分享。"),
    ),
    "baby": ProductLine(
        ("婴幼儿配方奶粉", "超薄纸尿裤", "婴儿手口湿巾", "儿童保温杯", "婴儿洗护套装"),
        ("原装进口", "温和无刺激", "超薄透气", "大包装", "新西兰奶源"),
        (("规格", ("1段", "2段", "3段")),),
        (59, 499),
        (300, 1200),
        ("baby-safe", "imported", "quality", "bestseller"),
        ((240, 170, 120), (255, 245, 235)),
        ("为宝宝精心挑选，温和不刺激。", "跨境直邮，全程可溯源。", "妈妈们的回购好物。"),
    ),
}

PRODUCTS_PER_SHOP = 75
# What happens to particular products after they are created (everything else is published).
FATES = {
    ("merchant1@demo.local", 10): "revision",
    ("merchant1@demo.local", 73): "submitted",
    ("merchant1@demo.local", 74): "submitted",
    ("merchant2@demo.local", 73): "submitted",
    ("merchant2@demo.local", 74): "rejected",
    ("merchant3@demo.local", 72): "submitted",
    ("merchant3@demo.local", 73): "submitted",
    ("merchant3@demo.local", 74): "withdrawn",
    ("merchant4@demo.local", 73): "submitted",
    ("merchant4@demo.local", 74): "draft",
}
PICTURES_PER_CATEGORY = 6
CLOSING = (
    "全国多仓发货，下单后最快3小时送达。",
    "支持7天无理由退货。",
    "官方正品，提供正规发票。",
    "如有任何问题，欢迎联系在线客服。",
)


# --- Pictures -------------------------------------------------------------------------------


@functools.cache
def _picture(category: str, variant: int) -> bytes:
    """A 480×480 JPEG: the category's two-colour gradient with a simple shape. Generated
    once per (category, variant); products reuse the bytes."""
    line = LINES[category]
    low, high = line.palette
    gradient = Image.linear_gradient("L").resize((480, 480))
    if variant % 2:
        gradient = gradient.transpose(Image.Transpose.ROTATE_90)
    image = ImageOps.colorize(gradient, low, high)
    draw = ImageDraw.Draw(image)
    shade = tuple(min(255, c + 40) for c in high)
    ink = tuple(max(0, c - 30) for c in low)
    draw.ellipse((110, 380, 370, 420), fill=tuple(max(0, c - 50) for c in low))  # a shadow
    shape = variant % PICTURES_PER_CATEGORY
    if shape == 0:
        draw.ellipse((120, 100, 360, 340), fill=shade, outline=ink, width=6)
    elif shape == 1:
        draw.rounded_rectangle((120, 120, 360, 360), radius=36, fill=shade, outline=ink, width=6)
    elif shape == 2:
        draw.polygon([(240, 90), (380, 360), (100, 360)], fill=shade, outline=ink)
    elif shape == 3:
        draw.polygon([(240, 90), (380, 230), (240, 370), (100, 230)], fill=shade, outline=ink)
    elif shape == 4:
        draw.ellipse((110, 110, 370, 370), outline=shade, width=40)
    else:
        draw.polygon([(170, 110), (310, 110), (360, 230), (120, 230)], fill=shade, outline=ink)
        draw.rectangle((228, 230, 252, 360), fill=ink)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _upload(category: str, variant: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{category}-{variant}.jpg", _picture(category, variant), content_type="image/jpeg")


# --- Products -------------------------------------------------------------------------------


def _ean13(number: int) -> str:
    digits = f"69{number:010d}"[:12]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    # Prices as shops set them: ending in 9 (¥199.00) or 9.90 (¥59.90).
    base = rng.randint(low, high)
    if base >= 100:
        return Decimal(base // 10 * 10 + 9)
    return Decimal(f"{base}.90")


def _variants(rng: random.Random, line: ProductLine) -> list[dict[str, str]]:
    """1 to 4 distinct attribute combinations."""
    (first_name, first_values), *rest = line.attributes
    combos = [{first_name: v} for v in first_values]
    if rest:
        second_name, second_values = rest[0]
        combos = [{**c, second_name: v} for c in combos for v in second_values]
    count = min(len(combos), rng.choice((1, 2, 2, 2, 3, 4)))
    picked = sorted(rng.sample(range(len(combos)), count))
    return [combos[i] for i in picked]


@dataclass
class _Context:
    reviewer: object
    tags: dict[str, int]
    categories: dict[str, Category]
    platform: dict[str, Warehouse]


def _create_product(ctx: _Context, shop: DemoShop, merchant, own_warehouse, n: int, fate: str) -> Product:
    owner = merchant.owner
    rng = random.Random(f"{shop.email}:{n}")  # noqa: S311 (demo data, not secrets)
    slug = shop.categories[n % len(shop.categories)]
    line = LINES[slug]
    brand = rng.choice(shop.brands)
    noun = rng.choice(line.nouns)
    features = rng.sample(line.features, 2)
    title = f"{brand} {noun} {features[0]} {features[1]}"
    points = rng.sample(line.points, 2)
    description = "\n".join([f"{brand}{noun}，{features[0]}，{features[1]}。", *points, rng.choice(CLOSING)])
    tag_slugs = rng.sample(line.tags, rng.randint(1, 3))

    base = _price(rng, *line.price)
    low_stock = rng.random() < 0.1
    skus = []
    for k, attributes in enumerate(_variants(rng, line), start=1):
        skus.append(
            {
                "code": f"{shop.prefix}-{n:03d}-{k}",
                "attributes": attributes,
                # Bigger sizes and better versions cost a little more.
                "price": base + Decimal(10 * (k - 1)) * (1 if base < 1000 else 10),
                "barcode": _ean13(SHOPS.index(shop) * 10_000_000 + n * 10 + k),
                "weight_grams": rng.randint(*line.weight),
                "reorder_point": rng.randint(12, 20) if low_stock else rng.randint(5, 10),
                "lead_time_days": rng.choice((3, 5, 7, 10, 14)),
                "safety_stock": rng.randint(15, 30) if low_stock else rng.randint(5, 15),
            }
        )
    product = services.product_create(
        merchant=merchant,
        actor=owner,
        title=title,
        category=ctx.categories[slug],
        description=description,
        tag_ids=[ctx.tags[s] for s in tag_slugs if s in ctx.tags],
        skus=skus,
    )

    # The edited product shows a picture added and one removed, so it needs two to start with.
    pictures = rng.sample(range(PICTURES_PER_CATEGORY), rng.randint(2 if fate == "revision" else 1, 3))
    if fate != "draft":
        for variant in pictures:
            services.product_image_add(product=product, actor=owner, uploaded=_upload(slug, variant))

    # Stock: the merchant's own warehouse, the east China hub, sometimes a city cloud warehouse.
    # Levels are tracked here too, so choosing where orders ship from costs no queries.
    created_skus = list(SKU.objects.filter(product=product).order_by("id"))
    clouds = [ctx.platform[code] for code, *_rest in CITY_CLOUDS]
    levels: dict[tuple[int, int], int] = {}

    def receive(sku, warehouse, quantity):
        services.stock_receive(
            merchant=merchant,
            sku=sku,
            warehouse=warehouse,
            quantity=quantity,
            actor=owner,
            reference=f"PO-{sku.code}",
            reason="采购入库",
        )
        levels[sku.pk, warehouse.pk] = levels.get((sku.pk, warehouse.pk), 0) + quantity

    for sku in created_skus:
        receive(sku, own_warehouse, rng.randint(3, 8) if low_stock else rng.randint(30, 200))
        if not low_stock and rng.random() < 0.5:
            receive(sku, ctx.platform["RC-EAST"], rng.randint(50, 300))
        if not low_stock and rng.random() < 0.25:
            receive(sku, rng.choice(clouds), rng.randint(20, 80))

    if fate == "draft":
        return product
    services.product_submit(product=product, actor=owner)
    if fate == "submitted":
        return product
    if fate == "rejected":
        services.product_reject(
            product=product, actor=ctx.reviewer, reason="主图含有外部联系方式水印，请更换图片后重新提交。"
        )
        return product
    services.product_approve(product=product, actor=ctx.reviewer)

    # Sales of the last weeks (low-stock SKUs and a third of the others sell), so
    # replenishment suggestions have a velocity: each order reserves at checkout, then ships
    # from the warehouse holding the most; a few orders still wait for shipping.
    selling = [sku for sku in created_skus if low_stock or rng.random() < 0.35]
    for order in range(rng.randint(1, 4) if selling else 0):
        lines = []
        for sku in selling:
            (_sku, warehouse_id), level = max(
                ((key, level) for key, level in levels.items() if key[0] == sku.pk), key=lambda item: item[1]
            )
            quantity = min(rng.randint(1, 4), level)
            if quantity > 0:
                lines.append(StockLine(sku_id=sku.pk, warehouse_id=warehouse_id, quantity=quantity))
                levels[sku.pk, warehouse_id] -= quantity
        if not lines:
            break
        reference = f"DEMO-ORDER-{shop.prefix}-{n:03d}-{order}"
        services.stock_reserve(lines=lines, reference=reference)
        if rng.random() < 0.9:
            services.stock_ship(lines=lines, reference=reference)
    if low_stock and rng.random() < 0.3:
        # Some shops already restocked: their alerts are closed (the alert history shows both).
        for sku in created_skus:
            services.stock_receive(
                merchant=merchant,
                sku=sku,
                warehouse=own_warehouse,
                quantity=rng.randint(40, 80),
                actor=owner,
                reference=f"PO-{sku.code}-R",
                reason="补货入库",
            )

    if fate == "withdrawn":
        services.product_withdraw(product=product, actor=owner)
    elif fate == "revision":
        # The merchant edits the published listing: buyers keep seeing the approved version.
        services.product_update(
            product=product,
            actor=owner,
            title=f"{title} 升级款",
            description=f"{description}\n升级款：用料更扎实，细节全面优化。",
            tag_ids=sorted({*product.tags.values_list("pk", flat=True), ctx.tags["new"]}),
        )
        spare = next(v for v in range(PICTURES_PER_CATEGORY) if v not in pictures)
        services.product_image_add(product=product, actor=owner, uploaded=_upload(slug, spare))
        first = product.images.filter(is_live=True).order_by("position", "id").first()
        if first is not None:
            services.product_image_remove(image=first, actor=owner)
    return product


def _grant_categories(merchant, slugs, categories: dict[str, Category], actor) -> None:
    """Grant the categories the shop's products use (unless a granted parent covers them)."""
    granted = set(selectors.granted_categories(merchant).values_list("pk", flat=True))
    missing = {categories[s].pk for s in slugs if not selectors.merchant_may_sell_in(merchant, categories[s])}
    if missing:
        services.category_grants_set(merchant=merchant, category_ids=sorted(granted | missing), actor=actor)


def seed_products(stdout) -> int:
    """About 300 products of the 4 live demo merchants, with stock and moderation states."""
    from merchants.models import Merchant, MerchantStatus

    reviewer = get_user_model().objects.get(email="reviewer@demo.local")
    ctx = _Context(
        reviewer=reviewer,
        tags=dict(Tag.objects.values_list("slug", "pk")),
        categories={c.slug: c for c in Category.objects.all()},
        platform={w.code: w for w in Warehouse.objects.filter(merchant__isnull=True)},
    )
    created = 0
    for shop in SHOPS:
        merchant = (
            Merchant.objects.filter(owner__email=shop.email, status=MerchantStatus.LIVE).select_related("owner").first()
        )
        if merchant is None:
            continue
        _grant_categories(merchant, shop.categories, ctx.categories, reviewer)
        own_warehouse = Warehouse.objects.get(code=_merchant_warehouse_code(shop))
        existing = set(SKU.objects.filter(merchant=merchant).values_list("code", flat=True))
        for n in range(PRODUCTS_PER_SHOP):
            if f"{shop.prefix}-{n:03d}-1" in existing:
                continue
            _create_product(ctx, shop, merchant, own_warehouse, n, FATES.get((shop.email, n), "published"))
            created += 1
    return created
